"""The operator registry: explicit registration and version selection by opset.

An operator implementation is a subclass of :class:`Op` decorated with :func:`register`, so the registry is
filled by imports, never by scanning namespaces: :func:`resolve` imports the one family module that registers
the op it is asked for (``onnumba.ops.FAMILIES`` names them), :func:`supported_ops` imports them all.

Lifecycle of one node (see ``planner.py``)::

    attrs = Op.parse_attrs(node)                               # once, at load
    attrs = Op.bind(node, attrs, inputs, consts, ctx)           # per input-shape signature (concrete shapes)
    infos = Op.infer(node, attrs, inputs, consts)               # per signature: output dtypes and shapes
    outs  = Op.run(node, attrs, arrays)                         # per run, or once at plan time (folding)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import onnx

from onnumba.errors import UnsupportedOpError

DEFAULT_DOMAINS = ("", "ai.onnx")


@dataclass(frozen=True)
class TensorInfo:
    """Element type and concrete shape of a value at plan time."""

    dtype: np.dtype
    shape: tuple

    def __post_init__(self):
        object.__setattr__(self, "dtype", np.dtype(self.dtype))
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass
class PlanContext:
    """Per-plan facts an op may need in ``bind`` (e.g. training mode requested by a run option)."""

    training: bool = False
    #: RunOptions(training_mode=False): every Dropout runs as in inference, whatever the model says
    inference: bool = False
    #: the session's memory limit in bytes (None: none); an op whose ``bind`` builds tables proportional to its
    #: output checks them with ``onnumba.memory.check_bytes`` before allocating
    memory_limit: int | None = None


class Op:
    """Base class of operator implementations. Stateless: all state lives in the ``attrs`` value.

    Subclasses override the class methods below. ``node`` is an :class:`onnumba.graph.Node`; its
    ``error(...)`` helper builds messages naming the node, the op and the input or attribute.
    """

    op_type: str = ""
    domain: str = ""
    versions: tuple = ()
    #: input indices whose values must be known when the plan is made (folded constants)
    plan_constant_inputs: tuple = ()
    #: False for ops whose output must not be computed once at plan time (random ops)
    foldable: bool = True

    @classmethod
    def parse_attrs(cls, node) -> Any:
        """Read and validate attributes once at load; return a frozen value with every default filled in."""
        return None

    @classmethod
    def bind(cls, node, attrs, inputs: Sequence[TensorInfo | None], consts: Sequence[np.ndarray | None],
             ctx: PlanContext) -> Any:
        """Specialise attrs for concrete input shapes and plan-time constant inputs (default: unchanged)."""
        return attrs

    @classmethod
    def infer(cls, node, attrs, inputs: Sequence[TensorInfo | None],
              consts: Sequence[np.ndarray | None]) -> list[TensorInfo]:
        """Validate input types and shapes and return the output infos (one per node output)."""
        raise NotImplementedError(f"{cls.__name__}.infer")

    @classmethod
    def plan_value(cls, node, attrs, inputs: Sequence[TensorInfo | None]) -> list[np.ndarray] | None:
        """Outputs computable from input infos alone (Shape, Size), so they fold with fed inputs; else None."""
        return None

    @classmethod
    def workspace_bytes(cls, node, attrs, inputs: Sequence[TensorInfo | None]) -> int:
        """Bytes of temporaries ``run`` allocates beyond its outputs for these input infos (index arrays, padded
        copies, im2col buffers); the memory guard (``onnumba.memory``) adds them to the outputs. Default 0."""
        return 0

    @classmethod
    def run(cls, node, attrs, arrays: Sequence[np.ndarray | None]) -> list[np.ndarray]:
        """Compute the outputs. Inputs were validated by ``infer``; kernels get arrays and plain numbers."""
        raise NotImplementedError(f"{cls.__name__}.run")


@dataclass(frozen=True)
class OpSpec:
    """One registered (domain, op_type, version) and the class implementing it."""

    domain: str
    op_type: str
    since_version: int
    impl: type


# (domain, op_type) -> {since_version: OpSpec}
_REGISTRY: dict[tuple[str, str], dict[int, OpSpec]] = {}
_OPS_LOADED = False  # every family module imported


def _load_ops() -> None:
    """Fill the registry with every op: importing all of ``onnumba.ops`` (numba and every kernel module) is
    the expensive part of onnumba's start, so only the full table (:func:`supported_ops`) does it."""
    global _OPS_LOADED
    if not _OPS_LOADED:
        import onnumba.ops  # noqa: PLC0415

        onnumba.ops.load_all()
        _OPS_LOADED = True


def _versions(domain: str, op_type: str) -> dict:
    """``{since_version: OpSpec}`` of ``op_type``, importing the family module that registers it on first use
    (all of them when no family declares it, or the one declaring it did not register it)."""
    key = (_norm_domain(domain), op_type)
    table = _REGISTRY.get(key)
    if table is None and not _OPS_LOADED:
        import onnumba.ops  # noqa: PLC0415

        if onnumba.ops.load_family(key[0], op_type):
            table = _REGISTRY.get(key)
        if table is None:
            _load_ops()
            table = _REGISTRY.get(key)
    return table or {}


def _norm_domain(domain: str) -> str:
    return "" if domain in DEFAULT_DOMAINS else domain


def register(op_type: str, versions: Sequence[int], *, domain: str = "",
             plan_constant_inputs: Sequence[int] = (), foldable: bool = True):
    """Class decorator registering an :class:`Op` for the listed onnx versions (``since_version`` values).

    ``versions`` lists every operator version the implementation claims, e.g. ``(1, 6, 13, 14)`` for Relu;
    versions that differ only in plumbing (attribute vs input) share one class and branch on
    ``node.version``. ``plan_constant_inputs`` lists input indices that must be known at plan time.
    """

    def deco(cls):
        if not (isinstance(cls, type) and issubclass(cls, Op)):
            raise TypeError(f"@register({op_type!r}) must decorate an Op subclass")
        key = (_norm_domain(domain), op_type)
        table = _REGISTRY.setdefault(key, {})
        vs = tuple(sorted(set(int(v) for v in versions)))
        if not vs:
            raise ValueError(f"@register({op_type!r}): no versions given")
        for v in vs:
            if v in table:
                raise ValueError(f"{op_type} version {v} registered twice "
                                 f"({table[v].impl.__qualname__} and {cls.__qualname__})")
            table[v] = OpSpec(key[0], op_type, v, cls)
        cls.op_type, cls.domain = op_type, key[0]
        cls.versions = tuple(sorted(set(cls.__dict__.get("versions", ())) | set(vs)))
        cls.plan_constant_inputs = tuple(plan_constant_inputs)
        cls.foldable = foldable
        return cls

    return deco


def schema_version(domain: str, op_type: str, opset: int) -> int | None:
    """The ``since_version`` of the operator definition in force at ``opset``, per onnx's own schemas."""
    try:
        return onnx.defs.get_schema(op_type, opset, _norm_domain(domain)).since_version
    except Exception:
        return None


def resolve(domain: str, op_type: str, opset: int) -> type:
    """Return the Op class for ``op_type`` at the model's ``opset`` of ``domain``.

    The definition in force is the highest ``since_version`` <= opset that onnx defines; it must be one of
    the versions the implementation registered, otherwise :class:`UnsupportedOpError`.
    """
    table = _versions(domain, op_type)
    return table[select_version(domain, op_type, opset, table)].impl


def select_version(domain: str, op_type: str, opset: int, implemented) -> int:
    """The version of ``op_type`` in force at ``opset`` if it is among ``implemented``, else
    :class:`UnsupportedOpError` (shared by :func:`resolve` and the numba-free op table of the CLI)."""
    if not implemented:
        raise UnsupportedOpError(f"operator {op_type!r} of domain {domain or 'ai.onnx'!r} is not implemented")
    sv = schema_version(domain, op_type, opset)
    if sv is None:
        # not an onnx-defined op (custom domain): the highest registered version <= opset
        sv = max((v for v in implemented if v <= opset), default=None)
    if sv not in implemented:
        raise UnsupportedOpError(
            f"operator {op_type!r} version {sv} (in force at opset {opset}) is not implemented; "
            f"implemented versions: {', '.join(map(str, sorted(implemented)))}")
    return sv


def supported_ops() -> list[dict]:
    """The registry as a table: one row per op with its domain, versions and implementing module."""
    _load_ops()
    rows = []
    for (domain, op_type), table in sorted(_REGISTRY.items()):
        rows.append({
            "domain": domain or "ai.onnx",
            "op_type": op_type,
            "versions": tuple(sorted(table)),
            "module": table[max(table)].impl.__module__,
        })
    return rows


def is_registered(domain: str, op_type: str) -> bool:
    return bool(_versions(domain, op_type))
