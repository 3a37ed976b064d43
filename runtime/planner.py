"""Graph + concrete input shapes -> Plan: shapes and dtypes per value, folded constants, last uses.

A plan is specialised to one input-shape signature (every dim concrete), so each op's ``infer`` works on
plain ints and every Shape / ConstantOfShape / Reshape-shape chain folds to a constant here.
"""

from __future__ import annotations

import operator
import os
import time
from dataclasses import dataclass

import numpy as np

from onnumba import memory
from onnumba.errors import ModelError, shape_str
from onnumba.optimizer import RewriteState, apply_rewrites
from onnumba.registry import PlanContext, TensorInfo

#: check every op's outputs against what its ``infer`` promised (tests turn this on)
CHECK_OUTPUTS = os.environ.get("ONNUMBA_CHECK_OUTPUTS", "") not in ("", "0")


@dataclass
class Step:
    node: object
    attrs: object
    inputs: tuple  # value names ('' = omitted)
    outputs: tuple
    infos: tuple  # TensorInfo per output ('' outputs get None)
    free: tuple  # names whose last use is this step
    fused: tuple = ()  # nodes that plan rewrites folded into this step, in graph order


@dataclass
class Plan:
    steps: list
    consts: dict  # name -> np.ndarray, values known at plan time
    infos: dict  # name -> TensorInfo
    output_names: tuple
    protected: frozenset | None = None  # ids of the buffers behind consts (filled with the program)
    fed: tuple = ()  # names the session feeds to this plan (graph inputs and overridden initializers)
    program: "Program | None" = None  # what execute runs, derived from the steps on first use


@dataclass(frozen=True)
class Program:
    """A plan lowered for execution: every value is a slot in a list, every step a tuple of precomputed parts.

    ``execute`` copies ``base`` (constants in their slots, None elsewhere), puts the feeds in their slots and runs
    each ``(run, node, attrs, gather, out, free_slots)``: ``gather(env)`` is the step's input tuple, ``out`` the
    slot of a single output or a tuple of slots. No dict or attribute lookups and no per-run re-derivation of
    what the plan already knows. Slot 0 always holds None (an omitted input reads it); slot 1 receives omitted
    outputs and is never read.
    """

    base: list
    feeds: tuple  # (name, slot) per fed value that some step or output reads
    steps: tuple  # (run, node, attrs, gather, out, free_slots) per plan step
    outputs: tuple  # slot per wanted output, in order
    plan_steps: tuple  # the Step behind each entry of ``steps`` (profiling, errors)


def lower(plan: Plan) -> Program:
    """Build (once) and return the plan's :class:`Program`."""
    if plan.program is not None:
        return plan.program
    slots = {"": 0}
    base = [None, None]
    fed = set(plan.fed)

    def slot(name: str) -> int:
        k = slots.get(name)
        if k is None:
            k = slots[name] = len(base)
            base.append(None if name in fed else plan.consts.get(name))
        return k

    steps = []
    for st in plan.steps:
        ins = tuple(slot(n) for n in st.inputs)
        outs = tuple(slot(n) if n else 1 for n in st.outputs)
        frees = tuple(slots[n] for n in st.free if n in slots)
        steps.append((st.node.impl.run, st.node, st.attrs, _gather(ins), outs[0] if len(outs) == 1 else outs, frees))
    outputs = tuple(slot(n) for n in plan.output_names)
    feeds = tuple((n, k) for n, k in slots.items() if n in fed)
    if plan.protected is None:
        plan.protected = frozenset(id(_root(c)) for c in plan.consts.values() if isinstance(c, np.ndarray))
    plan.program = Program(base, feeds, tuple(steps), outputs, tuple(plan.steps))
    return plan.program


def check_output(node, i: int, arr, info: TensorInfo) -> None:
    """Raise if an op produced something other than what its ``infer`` declared (an onnumba bug)."""
    if not isinstance(arr, np.ndarray):
        raise ModelError(f"{node.where(output=i)}: internal error, the op returned {type(arr).__name__}, "
                         f"not an array")
    if arr.dtype != info.dtype or arr.shape != info.shape:
        raise ModelError(f"{node.where(output=i)}: internal error, the op returned {arr.dtype}{shape_str(arr.shape)}"
                         f" but inferred {info.dtype}{shape_str(info.shape)}")


def value_inputs(graph) -> frozenset:
    """Graph inputs whose values some node needs at plan time (Reshape's shape, Pad's pads ... fed at run).

    Walks back from every plan-constant input through the nodes producing it; Shape-like ops that compute
    their output from input infos alone stop the walk (they need the shape, not the data).
    """
    from onnumba.registry import Op  # noqa: PLC0415

    producer = {o: n for n in graph.nodes for o in n.outputs if o}
    need, todo = set(), []
    for n in graph.nodes:
        todo += [n.inputs[i] for i in n.impl.plan_constant_inputs if n.has_input(i)]
    while todo:
        name = todo.pop()
        if name in need:
            continue
        need.add(name)
        p = producer.get(name)
        if p is not None and p.impl.plan_value.__func__ is Op.plan_value.__func__:
            todo += [i for i in p.inputs if i]
    fed = {vi.name for vi in graph.inputs} | set(graph.overridable)
    return frozenset(need & fed)


def _all_empty(node, out_infos) -> bool:
    present = [info for o, info in zip(node.outputs, out_infos) if o]
    return bool(present) and all(info is not None and info.size == 0 for info in present)


def make_plan(graph, feeds_info: dict, fed_overrides: frozenset, ctx: PlanContext,
              wanted: tuple | None = None, optimize: bool = True, fed_values: dict | None = None,
              memory_limit: int | None = None) -> Plan:
    """Specialise ``graph`` for the concrete infos of its inputs.

    Args:
        graph: the loaded :class:`onnumba.graph.Graph`.
        feeds_info: name -> TensorInfo for every fed value (real inputs and overridden initializers).
        fed_overrides: the overridable initializers that are fed this time (they are not constants).
        ctx: per-plan facts (training mode).
        wanted: output names to compute (None: all graph outputs); nodes nothing wanted needs are skipped.
        optimize: apply the registered plan rewrites (fusions, BatchNormalization folding ...).
        fed_values: fed inputs whose values the plan is specialised to (see :func:`value_inputs`).
        memory_limit: bytes the plan may allocate (None: no limit); a node or a plan that would allocate more
            raises :class:`onnumba.errors.MemoryLimitError` before allocating (see :mod:`onnumba.memory`).
    """
    infos: dict = dict(feeds_info)
    consts: dict = {}
    for name, arr in graph.initializers.items():
        if name in fed_overrides:
            continue
        consts[name] = arr
        infos[name] = TensorInfo(arr.dtype, arr.shape)
    consts.update(fed_values or {})

    wanted = tuple(v.name for v in graph.outputs) if wanted is None else tuple(wanted)
    needed = set(wanted)
    live_nodes = []
    for node in reversed(graph.nodes):
        if any(o in needed for o in node.outputs if o):
            live_nodes.append(node)
            needed.update(n for n in node.inputs if n)
    live_nodes.reverse()

    steps = []
    folded = 0  # bytes of constants this plan computed so far (they stay alive with the plan)
    for node in live_nodes:
        in_infos = [infos[n] if n else None for n in node.inputs]
        in_consts = [consts.get(n) if n else None for n in node.inputs]
        for i in node.impl.plan_constant_inputs:
            if node.has_input(i) and in_consts[i] is None:
                raise node.error("must be known when the plan is made (an initializer, a Constant or computed "
                                 "from shapes only), but it depends on a fed input", input=i)
        try:
            attrs = node.impl.bind(node, node.parsed, in_infos, in_consts, ctx)
            out_infos = node.impl.infer(node, attrs, in_infos, in_consts)
        except MemoryError as e:  # a table the op builds in bind (e.g. per output index) that did not fit
            raise memory.out_of_memory(node, e, "preparing") from None
        out_infos = list(out_infos)
        if len(out_infos) < len([o for o in node.outputs if o]) or len(out_infos) > len(node.outputs):
            raise node.error(f"has {len(node.outputs)} outputs but the op produces {len(out_infos)}")
        out_infos += [None] * (len(node.outputs) - len(out_infos))
        memory.check_step(node, out_infos, _workspace(node, attrs, in_infos), memory_limit, folded)
        for o, info in zip(node.outputs, out_infos):
            if o:
                infos[o] = info
        all_const = node.impl.foldable and all(c is not None for n, c in zip(node.inputs, in_consts) if n)
        arrays = node.impl.plan_value(node, attrs, in_infos) if node.impl.foldable else None
        if arrays is None and _all_empty(node, out_infos):
            # every output has a zero-size dim, so its value is its shape and dtype alone: the step needs no
            # kernel (an empty batch runs through any op whose ``infer`` accepts it; Shape, Size, reductions
            # and the like have non-empty outputs and still run)
            arrays = [np.empty(info.shape, info.dtype) if o else None for o, info in zip(node.outputs, out_infos)]
        if arrays is None and all_const:
            try:
                arrays = node.impl.run(node, attrs, in_consts)
            except MemoryError as e:
                raise memory.out_of_memory(node, e, "folding") from None
        if arrays is not None:
            for i, (o, arr) in enumerate(zip(node.outputs, arrays)):
                if o:
                    check_output(node, i, arr, out_infos[i])
                    consts[o] = arr
                    folded += arr.nbytes
            continue
        steps.append(Step(node, attrs, tuple(node.inputs), tuple(node.outputs), tuple(out_infos), ()))

    if optimize:
        before = [(st, st.inputs, st.outputs) for st in steps]
        state = RewriteState(steps, consts, infos, wanted, ctx)
        apply_rewrites(state)
        steps = state.steps
        _record_fused(before, steps)

    # last uses: a value is freed after the last step that reads it, unless it is an output or a constant
    keep = set(wanted) | set(consts)
    last = {}
    for k, st in enumerate(steps):
        for n in st.inputs:
            if n and n not in keep:
                last[n] = k
        for n in st.outputs:
            if n and n not in keep:
                last.setdefault(n, k)  # an output nothing reads is freed right away
    frees = [[] for _ in steps]
    for n, k in last.items():
        frees[k].append(n)
    for st, fr in zip(steps, frees):
        st.free = tuple(fr)
    if memory_limit is not None:
        own = sum(c.nbytes for n, c in consts.items() if n not in graph.initializers and isinstance(c, np.ndarray))
        memory.check_plan(steps, own, memory_limit,
                          lambda st: _workspace(st.node, st.attrs, [infos[n] if n else None for n in st.inputs]))
    return Plan(steps, consts, infos, wanted, fed=tuple(feeds_info))


def _workspace(node, attrs, in_infos) -> int:
    """Bytes of temporaries the op declares beyond its outputs (``Op.workspace_bytes``; 0 when it declares none)."""
    fn = getattr(node.impl, "workspace_bytes", None)
    return int(fn(node, attrs, in_infos)) if fn is not None else 0


def _record_fused(before: list, after: list) -> None:
    """Fill ``Step.fused``: a step that left the plan was fused into the surviving step that now produces one of
    its outputs, or into the step its own removed consumers were fused into (Conv <- BatchNormalization <- Relu
    leaves one Conv step producing the Relu's output). A removed step attributed to none (an inference Dropout
    whose readers now read its input) simply left the plan."""
    alive = {id(st) for st in after}
    producer = {o: st for st in after for o in st.outputs if o}
    removed = [(st, ins, outs) for st, ins, outs in before if id(st) not in alive]
    readers: dict = {}
    for r in removed:
        for n in r[1]:
            if n:
                readers.setdefault(n, []).append(r)
    owner: dict = {}

    def find(r, depth=0):
        key = id(r[0])
        if key not in owner:
            owner[key] = None  # guards against a cycle of renamed values
            hit = next((producer[o] for o in r[2] if o in producer), None)
            if hit is None and depth < len(removed):
                for o in r[2]:
                    for r2 in readers.get(o, ()):
                        hit = find(r2, depth + 1)
                        if hit is not None:
                            break
                    if hit is not None:
                        break
            owner[key] = hit
        return owner[key]

    fused: dict = {}
    for r in removed:
        st = find(r)
        if st is not None and st.node is not r[0].node:
            fused.setdefault(id(st), []).append(r[0].node)
    for st in after:
        nodes = fused.get(id(st), ())
        if nodes:
            st.fused = tuple(sorted(nodes, key=lambda n: n.index)) + tuple(st.fused)


def _gather(slots: tuple):
    """``env -> tuple of env[k] for k in slots`` (itemgetter returns a bare item for one slot, so wrap it)."""
    if len(slots) >= 2:
        return operator.itemgetter(*slots)
    if len(slots) == 1:
        k = slots[0]
        return lambda env: (env[k],)
    return lambda env: ()


def execute(plan: Plan, feeds: dict, profile: list | None = None) -> list:
    """Run the plan's steps on ``feeds`` (name -> array) and return the wanted outputs in order.

    With ``profile`` (a list), one ``(step, start perf_counter seconds, seconds, plan)`` record per step is appended.
    A ``MemoryError`` inside a step becomes a :class:`onnumba.errors.MemoryLimitError` naming its node.
    """
    prog = plan.program or lower(plan)
    env = prog.base.copy()
    for name, k in prog.feeds:
        env[k] = feeds[name]
    if profile is not None or CHECK_OUTPUTS:
        _execute_checked(plan, prog, env, profile)
    else:
        node = None
        try:
            for run, node, attrs, gather, out, frees in prog.steps:
                res = run(node, attrs, gather(env))
                if out.__class__ is int:
                    env[out] = res[0]
                else:
                    for k, arr in zip(out, res):
                        env[k] = arr
                for k in frees:
                    env[k] = None
        except MemoryError as e:
            raise memory.out_of_memory(node, e) from None
    protected = plan.protected
    return [_own(env[k], protected, feeds) for k in prog.outputs]


def _execute_checked(plan: Plan, prog: Program, env: list, profile: list | None) -> None:
    """:func:`execute`'s loop with per-step timing records and (``CHECK_OUTPUTS``) output checks."""
    clock = time.perf_counter
    for st, (run, node, attrs, gather, out, frees) in zip(prog.plan_steps, prog.steps):
        arrays = gather(env)
        outs = (out,) if out.__class__ is int else out
        try:
            if profile is not None:
                t0 = clock()
                res = run(node, attrs, arrays)
                profile.append((st, t0, clock() - t0, plan))
            else:
                res = run(node, attrs, arrays)
        except MemoryError as e:
            raise memory.out_of_memory(node, e) from None
        for i, (k, arr) in enumerate(zip(outs, res)):
            if CHECK_OUTPUTS and st.outputs[i]:
                check_output(node, i, arr, st.infos[i])
            env[k] = arr
        for k in frees:
            env[k] = None


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _own(arr, protected: frozenset, feeds: dict):
    """An output that is (a view of) a constant or a feed is copied, as onnxruntime hands out fresh buffers:
    a caller writing into it must not change the model's weights or its own input."""
    if not isinstance(arr, np.ndarray):
        return arr
    r = id(_root(arr))
    if r in protected or any(r == id(_root(f)) for f in feeds.values() if isinstance(f, np.ndarray)):
        return arr.copy()
    return arr
