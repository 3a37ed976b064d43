"""Merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot) and their
functional forms."""

import numpy as np

from onnumba.converters.layers.base import ExportTensor, Layer, ShapeProblem


def _broadcast(shapes):
    rank = max(len(s) for s in shapes)
    out = []
    for dims in zip(*[(1,) * (rank - len(s)) + tuple(s) for s in shapes]):
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise ShapeProblem(f"shapes {[tuple(s) for s in shapes]} do not broadcast")
        if known:
            out.append(known.pop())
        elif None in dims:
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


def _common_layout(ctx, inputs):
    """Bring the inputs to one layout (the first permuted input's, when all ranks agree)."""
    ranks = {len(t.shape) for t in inputs}
    perms = [t.perm for t in inputs if t.perm is not None]
    if len(ranks) == 1 and perms and all(t.flat_perm is None for t in inputs):
        return [ctx.to_perm(t, perms[0]) for t in inputs]
    flats = [t.flat_perm for t in inputs]
    if len(ranks) == 1 and all(f is not None for f in flats) and \
            all(np.array_equal(f, flats[0]) for f in flats):
        return inputs
    return [ctx.to_keras(t) for t in inputs]


class Merge(Layer):
    """Base of the element-wise merge layers: two or more inputs that broadcast together."""

    _OP = None
    _min_inputs, _max_inputs = 2, None

    def build(self, input_shape):
        if not isinstance(input_shape, list):
            raise ShapeProblem(f"{type(self).__name__} must be called on a list of tensors")
        n = len(input_shape)
        if n < self._min_inputs or (self._max_inputs and n > self._max_inputs):
            want = self._max_inputs if self._max_inputs == self._min_inputs else \
                f"at least {self._min_inputs}"
            raise ShapeProblem(f"expected {want} inputs, got {n}")

    def compute_output_shape(self, input_shape):
        return _broadcast(input_shape)

    def _combine(self, ctx, names):
        return ctx.b.node(self._OP, names, name=self.name)

    def export(self, ctx, node, inputs):
        inputs = _common_layout(ctx, inputs)
        y = self._combine(ctx, [t.name for t in inputs])
        first = max(inputs, key=lambda t: len(t.shape))
        return [first.like(y, node.outputs[0].shape)]


class Add(Merge):
    """Element-wise sum of the inputs."""
    _OP = "Sum"


class Subtract(Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs)."""
    _OP = "Sub"
    _max_inputs = 2


class Multiply(Merge):
    """Element-wise product of the inputs."""

    def _combine(self, ctx, names):
        y = names[0]
        for other in names[1:]:
            y = ctx.b.node("Mul", [y, other], name=self.name)
        return y


class Average(Merge):
    """Element-wise mean of the inputs."""

    def _combine(self, ctx, names):
        total = ctx.b.node("Sum", names, name=self.name)
        inv = ctx.b.const(np.float32(1.0 / len(names)), dtype=np.float32, name=f"{self.name}_inv")
        return ctx.b.node("Mul", [total, inv], name=self.name)


class Maximum(Merge):
    """Element-wise maximum of the inputs."""
    _OP = "Max"


class Minimum(Merge):
    """Element-wise minimum of the inputs."""
    _OP = "Min"


class Concatenate(Merge):
    """Concatenation along ``axis`` (Keras default -1); other dimensions must match."""

    _min_inputs = 1

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise self._arg_error("axis", axis, "expected an int")
        self.axis = axis

    def compute_output_shape(self, input_shape):
        rank = len(input_shape[0])
        if any(len(s) != rank for s in input_shape):
            raise ShapeProblem(f"all inputs must have the same rank, got shapes {input_shape}")
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ShapeProblem(f"axis={self.axis} is not a feature axis of rank {rank}")
        axis = self.axis % rank
        out = []
        for a in range(rank):
            dims = [s[a] for s in input_shape]
            if a == axis:
                out.append(None if None in dims else sum(dims))
            else:
                known = {d for d in dims if d is not None}
                if len(known) > 1:
                    raise ShapeProblem(f"shapes {input_shape} differ on axis {a}, not only on "
                                       f"the concatenation axis {self.axis}")
                out.append(known.pop() if known else None)
        return tuple(out)

    def export(self, ctx, node, inputs):
        if any(t.flat_perm is not None for t in inputs):
            inputs = [ctx.to_keras(t) for t in inputs]
        else:
            inputs = _common_layout(ctx, inputs)
        t0 = inputs[0]
        y = ctx.b.node("Concat", [t.name for t in inputs], name=self.name,
                       axis=t0.onnx_axis(self.axis))
        return [ExportTensor(y, node.outputs[0].shape, t0.perm)]

    def get_config(self):
        cfg = super().get_config()
        cfg["axis"] = self.axis
        return cfg


def add(inputs, **kwargs):
    """Functional form of Add."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional form of Subtract."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional form of Multiply."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional form of Average."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional form of Maximum."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional form of Minimum."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of Concatenate."""
    return Concatenate(axis=axis, **kwargs)(inputs)


class Dot(Merge):
    """Keras Dot(axes, normalize=False): batch dot product of two rank-2 or rank-3 tensors over
    ``axes`` (an int or a pair); ``normalize`` L2-normalizes both along those axes first (the
    cosine proximity)."""

    _min_inputs = _max_inputs = 2

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        pair = tuple(axes) if isinstance(axes, (list, tuple)) else (axes, axes)
        if len(pair) != 2 or any(isinstance(a, bool) or not isinstance(a, int) for a in pair):
            raise self._arg_error("axes", axes, "expected an int or a pair of ints")
        self.axes, self.normalize = axes, bool(normalize)
        self._pair = pair

    def _resolved(self, shapes):
        ranks = [len(s) for s in shapes]
        if ranks[0] != ranks[1] or ranks[0] not in (2, 3):
            raise ShapeProblem(f"expected two rank-2 or two rank-3 inputs, got shapes {shapes}")
        axes = [a % r for a, r in zip(self._pair, ranks)]
        if 0 in axes:
            raise ShapeProblem(f"axes={self.axes} must not be the batch axis")
        n = [s[a] for s, a in zip(shapes, axes)]
        if None not in n and n[0] != n[1]:
            raise ShapeProblem(f"the dot axes have sizes {n[0]} and {n[1]}")
        return axes

    def compute_output_shape(self, input_shape):
        a, b = self._resolved(input_shape)
        x, y = input_shape
        if len(x) == 2:
            return (x[0], 1)
        return (x[0], x[3 - a], y[3 - b])

    def export(self, ctx, node, inputs):
        bld = ctx.b
        x, y = [ctx.to_keras(t).name for t in inputs]
        ax, ay = self._resolved([t.shape for t in inputs])
        if self.normalize:
            from onnumba.converters.layers.feature_norm import reduce
            eps = bld.const(np.float32(1e-12), dtype=np.float32, name=f"{self.name}_epsilon")
            x, y = [bld.node("Div", [v, bld.node("Max", [reduce(bld, "ReduceL2", v, [a],
                                                                  f"{self.name}_norm"), eps],
                                                  name=self.name)], name=self.name)
                    for v, a in ((x, ax), (y, ay))]
        if len(inputs[0].shape) == 2:
            y_ = bld.node("ReduceSum", [bld.node("Mul", [x, y], name=self.name),
                                        bld.const([1])], name=self.name, keepdims=1)
            return [ExportTensor(y_, node.outputs[0].shape)]
        if ax == 1:  # the contracted axis last on the left
            x = bld.node("Transpose", [x], name=self.name, perm=[0, 2, 1])
        if ay == 2:  # and first (after the batch) on the right
            y = bld.node("Transpose", [y], name=self.name, perm=[0, 2, 1])
        return [ExportTensor(bld.node("MatMul", [x, y], name=self.name), node.outputs[0].shape)]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(axes=list(self.axes) if isinstance(self.axes, (list, tuple)) else self.axes,
                   normalize=self.normalize)
        return cfg
