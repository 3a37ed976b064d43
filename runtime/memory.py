"""The memory guard: a plan's allocations are known before it runs, so one that would exceed a limit is refused.

Every step's output infos are inferred when the plan is made, so the planner knows the bytes each op allocates
(its outputs, plus the temporaries it declares with ``Op.workspace_bytes``) and, from the plan's last-use lists,
the peak of buffers alive at once. Three checks raise :class:`MemoryLimitError` before the allocation happens:

* one node (while planning, before it is folded or run): its outputs plus its declared temporaries;
* the plan (after graph rewrites): the peak of live step outputs (each counted whole, views included, so the
  estimate errs high) plus constants folded at plan time;
* a feed the session must copy (a read-only, unaligned or stride-0 broadcast array), before copying it.

The limit is the session config entry ``onnumba.memory_limit_bytes`` (``"0"``: no limit); by default 80 % of the
memory this process can still get: the smaller of ``MemAvailable`` (``/proc/meminfo``, else ``os.sysconf``) and
the address space left under ``RLIMIT_AS``, or :data:`FALLBACK_LIMIT` when neither is known.

As a last resort, a ``MemoryError`` raised inside an op whose temporaries the guard does not know about becomes a
:class:`MemoryLimitError` naming the node (the allocation was attempted then, not prevented).
"""

from __future__ import annotations

import os

from onnumba.errors import MemoryLimitError, shape_str

#: limit used when neither /proc/meminfo nor os.sysconf says how much memory is available
FALLBACK_LIMIT = 4 << 30

#: share of the available memory a session may plan to use by default
DEFAULT_SHARE = 0.8


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _address_space_left() -> int | None:
    """Bytes of address space left under a finite RLIMIT_AS (a capped worker), else None."""
    try:
        import resource  # noqa: PLC0415  (not on Windows)

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):
        return None
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return None
    used = 0
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    used = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    return max(soft - used, 0)


def default_limit() -> int:
    """80 % of the memory this process can still allocate (see the module docstring)."""
    known = [v for v in (_meminfo_available(), _address_space_left()) if v is not None]
    if not known:
        return FALLBACK_LIMIT
    return int(DEFAULT_SHARE * min(known))


def limit_from_options(options) -> int | None:
    """The session's limit in bytes (None: no limit) from its SessionOptions config entry or the default."""
    from onnumba.options import MEMORY_LIMIT_KEY  # noqa: PLC0415

    value = getattr(options, "_config", {}).get(MEMORY_LIMIT_KEY)
    if value is None:
        return default_limit()
    n = int(value)
    return n or None


def nbytes(info) -> int:
    """Bytes of a buffer with this TensorInfo (object arrays count a pointer per element)."""
    return 0 if info is None else info.size * info.dtype.itemsize


def _gib(n: int) -> str:
    return f"{n} bytes ({n / 2 ** 30:.2f} GiB)"


def _how_to_fix(limit: int) -> str:
    return (f"the session's memory limit is {_gib(limit)}; raise it with SessionOptions."
            f"add_session_config_entry('onnumba.memory_limit_bytes', str(n)) (0: no limit) if the memory exists")


def check_step(node, out_infos, workspace: int, limit: int | None, held: int = 0) -> None:
    """Refuse a node whose outputs and declared temporaries (plus ``held`` bytes of constants already folded in
    this plan) exceed ``limit``, naming its largest output."""
    if limit is None:
        return
    sizes = [nbytes(i) for i in out_infos]
    total = sum(sizes) + int(workspace)
    if total + held <= limit:
        return
    k = max(range(len(sizes)), key=sizes.__getitem__) if sizes else None
    what = ""
    if k is not None and out_infos[k] is not None:
        info = out_infos[k]
        what = f", output {k} {node.outputs[k]!r} is {info.dtype} {shape_str(info.shape)} = {_gib(sizes[k])}"
    extra = f", plus {_gib(int(workspace))} of temporaries" if workspace else ""
    before = f", on top of {_gib(held)} of constants folded before it" if held else ""
    raise MemoryLimitError(f"{node.desc}: would allocate {_gib(total)}{what}{extra}{before}; refused before "
                           f"allocating: {_how_to_fix(limit)}")


def check_bytes(node, n: int, limit: int | None, what: str) -> None:
    """For ops: refuse a plan-time table or temporary of ``n`` bytes (``what`` names it) over ``limit``
    (``PlanContext.memory_limit``), before allocating it."""
    if limit is not None and n > limit:
        raise MemoryLimitError(f"{node.desc}: {what} would allocate {_gib(int(n))}; refused before allocating: "
                               f"{_how_to_fix(limit)}")


def check_plan(steps, const_bytes: int, limit: int | None, workspace_of) -> None:
    """Refuse a plan whose peak of live buffers (outputs alive at once, plus the running step's temporaries and
    the constants folded at plan time) exceeds ``limit``; the message names the step where the peak is reached."""
    if limit is None:
        return
    live = const_bytes
    sizes: dict = {}
    peak, at = live, None
    for st in steps:
        out = sum(nbytes(i) for o, i in zip(st.outputs, st.infos) if o)
        for o, i in zip(st.outputs, st.infos):
            if o:
                sizes[o] = nbytes(i)
        now = live + out + workspace_of(st)
        if now > peak:
            peak, at = now, st
        live += out
        for n in st.free:
            live -= sizes.pop(n, 0)
    if peak > limit and at is not None:
        k = max(range(len(at.infos)), key=lambda j: nbytes(at.infos[j]))
        info = at.infos[k]
        raise MemoryLimitError(
            f"{at.node.desc}: the plan needs {_gib(peak)} alive at once when this step runs (its output {k} "
            f"{at.outputs[k]!r} is {info.dtype} {shape_str(info.shape)} = {_gib(nbytes(info))}); refused before "
            f"allocating: {_how_to_fix(limit)}")


def check_feed_copy(name: str, arr, limit: int | None) -> None:
    """Refuse copying a feed (read-only, unaligned or stride-0 broadcast) whose copy would exceed ``limit``."""
    if limit is None:
        return
    n = int(arr.size) * arr.dtype.itemsize
    if n > limit:
        raise MemoryLimitError(f"input {name!r}: shape {shape_str(arr.shape)} {arr.dtype} must be copied (it is "
                               f"read-only, unaligned or a broadcast view), which would allocate {_gib(n)}; refused "
                               f"before copying: {_how_to_fix(limit)}")


def out_of_memory(node, err: MemoryError, doing: str = "computing") -> MemoryLimitError:
    """The typed error for a MemoryError raised inside ``node`` (an allocation the guard could not foresee):
    ``doing`` is "preparing" (the op's plan-time bind / infer), "folding" (a plan-time constant) or "computing"."""
    if isinstance(err, MemoryLimitError):  # already typed (e.g. by a subgraph's own plan)
        return err
    return MemoryLimitError(f"{node.desc}: ran out of memory while {doing} the node ({err}); the op allocated "
                            f"a temporary it does not declare to the memory guard (Op.workspace_bytes) or that its "
                            f"outputs' sizes do not bound")
