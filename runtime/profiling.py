"""Profiles in onnxruntime's JSON trace format (chrome trace events; open in Perfetto or chrome://tracing).

The file is a list of complete events (``"ph": "X"``) with ``cat``, ``pid``, ``tid``, ``ts`` and ``dur`` in
microseconds since profiling started, ``name`` and ``args``, as onnxruntime writes them:

* ``"cat": "Session"``: ``model_loading_uri`` / ``model_loading_array``, ``session_initialization``, and one
  ``model_run`` per run;
* ``"cat": "Node"``: one ``<node name>_kernel_time`` per step run, with ``args`` ``op_name``, ``provider``,
  ``node_index``, ``input_type_shape`` / ``output_type_shape`` (``[{"float": [1, 3, 224, 224]}, ...]``),
  ``output_size``, ``activation_size`` (bytes of fed or computed inputs) and ``parameter_size`` (bytes of
  constant inputs) as onnxruntime writes them (numbers as strings). onnxruntime's memory-arena and
  thread-scheduling fields have no counterpart here and are left out. A fused step is one event named after its
  first node, with ``op_name`` the op that ran (``Conv`` for a Conv with folded BatchNormalization and Relu).
"""

from __future__ import annotations

import json
import os
import threading
import time

from onnumba.providers import CPU


class Profiler:
    """Collects events from the session (thread-safe appends) and writes them on :meth:`end`."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.t0 = time.perf_counter()
        self.start_ns = time.time_ns()
        self.pid = os.getpid()
        self.records: list = []  # ("session", name, t0, dt, tid) or (step, t0, dt, plan) from planner.execute
        self.active = True

    def session_event(self, name: str, t0: float, dt: float) -> None:
        self.records.append(("session", name, t0, dt, threading.get_native_id()))

    def node_records(self) -> list:
        return [r for r in self.records if r[0] != "session"]

    def _us(self, t: float) -> int:
        return max(int(round((t - self.t0) * 1e6)), 0)

    def events(self) -> list:
        tid = threading.get_native_id()
        out = []
        for r in self.records:
            if r[0] == "session":
                _, name, t0, dt, rtid = r
                out.append({"cat": "Session", "pid": self.pid, "tid": rtid, "dur": int(round(dt * 1e6)),
                            "ts": self._us(t0), "ph": "X", "name": name, "args": {}})
                continue
            st, t0, dt, plan = r
            out.append({"cat": "Node", "pid": self.pid, "tid": tid, "dur": int(round(dt * 1e6)),
                        "ts": self._us(t0), "ph": "X", "name": f"{_node_name(st.node)}_kernel_time",
                        "args": _node_args(st, plan)})
        return out

    def end(self) -> str:
        """Write the trace to ``<prefix>_<date>_<time>_<ms>.json`` (onnxruntime's naming); returns its path.
        Profiling stops."""
        stamp = time.strftime("%Y-%m-%d_%H-%M-%S") + f"_{int(time.time() * 1000) % 1000:03d}"
        path = f"{self.prefix}_{stamp}.json"
        events = self.events()
        with open(path, "w") as f:
            f.write("[\n" + ",\n".join(json.dumps(e) for e in events) + "\n]\n")
        self.active = False
        self.records = []
        return path


def _node_name(node) -> str:
    return node.name or f"{node.op_type}_{node.index}"


def _type_shape(info) -> dict:
    from onnumba.graph import dtype_to_type_name  # noqa: PLC0415

    name = dtype_to_type_name(info.dtype)
    if name.startswith("tensor(") and name.endswith(")"):
        name = name[7:-1]
    return {name: list(info.shape)}


def _node_args(st, plan) -> dict:
    """onnxruntime's per-node ``args`` for step ``st`` of ``plan``."""
    in_infos = [(plan.infos[n], n in plan.consts) for n in st.inputs if n and n in plan.infos]
    outs = [i for o, i in zip(st.outputs, st.infos) if o and i is not None]
    return {
        "op_name": st.node.op_type,
        "provider": CPU,
        "node_index": str(st.node.index),
        "input_type_shape": [_type_shape(i) for i, _ in in_infos],
        "output_type_shape": [_type_shape(i) for i in outs],
        "output_size": str(sum(i.size * i.dtype.itemsize for i in outs)),
        "activation_size": str(sum(i.size * i.dtype.itemsize for i, c in in_infos if not c)),
        "parameter_size": str(sum(i.size * i.dtype.itemsize for i, c in in_infos if c)),
    }


def summary(records) -> dict:
    """op_type -> {"calls", "total_ms"} over node records, slowest first."""
    acc: dict = {}
    for st, _, dt, _ in records:
        d = acc.setdefault(st.node.op_type, {"calls": 0, "total_ms": 0.0})
        d["calls"] += 1
        d["total_ms"] += dt * 1e3
    return dict(sorted(acc.items(), key=lambda kv: -kv[1]["total_ms"]))
