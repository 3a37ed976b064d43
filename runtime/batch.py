"""Batch scoring: run a model over many rows, on this machine or on a Dask cluster.

    from onnumba.batch import score
    outs = score("model.onnx", {"x": x_rows}, batch_size=256)             # numpy in -> numpy out
    outs = score("model.onnx", {"x": dask_array})                         # dask in -> lazy dask out
    score_to_file("model.onnx", {"x": "rows.npy"}, "out.npz", workers=2)  # streamed, never all in memory

Rows run along axis 0 of every input. An input is an array (numpy or memory-mapped), a ``.npy`` path (memory
mapped), or a folder of ``.npy`` files holding one row each, taken in sorted name order. Every chunk is
checked before it runs: all inputs have the same number of rows, and each row has the model's declared
shape (minus the batch axis) and element type, else :class:`~onnumba.errors.InputError` names the input and
the first bad row. Outputs come back complete and in input order, or the call fails.

Where it runs:

* ``workers=1`` (default): one session in this process, chunk after chunk.
* ``workers=N``: N local worker processes, each with its own single-threaded session, chunks streamed to
  them (at most two in flight per worker). The processes stay up for the next call with the same model
  (:func:`shutdown_workers` stops them; they also stop at exit).
* ``scheduler="tcp://host:port"`` (or a ``dask.distributed.Client``): the chunks run on that Dask cluster.
  The model is shipped once (broadcast to every worker) and each worker keeps one session per model;
  a chunk lost with a dying worker is recomputed by Dask elsewhere. Needs ``pip install onnumba[dask]``.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
import zipfile
from dataclasses import dataclass
from typing import Callable

import numpy as np

from onnumba.errors import InputError, OnnumbaError

__all__ = ["score", "score_to_file", "shutdown_workers", "RowSource", "open_rows"]


# ------------------------------------------------------------------------------------------------ row sources

class RowSource:
    """Rows of one input, read by ranges: an array-like (axis 0 = rows) or a folder of one-row ``.npy`` files."""

    def __init__(self, name: str, data=None, files: list | None = None):
        self.name = name
        self._data = data
        self._files = files
        if files is not None:
            first = np.load(files[0], mmap_mode="r") if files else None
            self.row_shape = None if first is None else tuple(first.shape)
            self.dtype = None if first is None else first.dtype
            self.rows = len(files)
        else:
            if np.ndim(data) == 0:
                raise InputError(f"input {name!r}: expected an array with rows along axis 0, got a scalar")
            self.row_shape = tuple(data.shape[1:])
            self.dtype = np.dtype(data.dtype)
            self.rows = int(data.shape[0])

    def read(self, lo: int, hi: int) -> np.ndarray:
        """Rows ``lo .. hi-1`` as one C-contiguous array."""
        if self._files is None:
            return np.ascontiguousarray(self._data[lo:hi])
        rows = []
        for i in range(lo, hi):
            r = np.load(self._files[i], mmap_mode="r")
            if tuple(r.shape) != self.row_shape or r.dtype != self.dtype:
                raise InputError(f"input {self.name!r}, row {i} ({os.path.basename(self._files[i])}): shape "
                                 f"{tuple(r.shape)} {r.dtype}, expected {self.row_shape} {self.dtype} like row 0")
            rows.append(r)
        return np.stack(rows) if rows else np.empty((0,) + (self.row_shape or ()), self.dtype or np.float32)


def open_rows(name: str, src) -> RowSource:
    """A :class:`RowSource` for an array, a ``.npy`` path (memory-mapped) or a folder of one-row ``.npy`` files."""
    if isinstance(src, (str, os.PathLike)):
        path = os.fspath(src)
        if os.path.isdir(path):
            files = sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(".npy"))
            if not files:
                raise InputError(f"input {name!r}: folder {path!r} holds no .npy files")
            return RowSource(name, files=files)
        if not os.path.exists(path):
            raise InputError(f"input {name!r}: no such file or folder {path!r}")
        try:
            return RowSource(name, data=np.load(path, mmap_mode="r", allow_pickle=False))
        except (ValueError, OSError) as e:
            raise InputError(f"input {name!r}: cannot read {path!r} as a .npy array: {e}") from None
    return RowSource(name, data=np.asarray(src) if not hasattr(src, "shape") else src)


# ------------------------------------------------------------------------------------------------ checks

@dataclass(frozen=True)
class _InputSpec:
    name: str
    row_shape: tuple  # declared dims after the batch axis; None or str for dynamic ones
    dtype: np.dtype


def _model_bytes(model) -> bytes:
    if isinstance(model, bytes):
        return model
    if isinstance(model, (str, os.PathLike)):
        try:
            with open(model, "rb") as f:
                return f.read()
        except OSError as e:
            raise InputError(f"cannot read the model {os.fspath(model)!r}: {e.strerror}") from None
    if hasattr(model, "SerializeToString"):
        return model.SerializeToString()
    raise TypeError(f"model must be a path, bytes or an onnx.ModelProto, got {type(model).__name__}")


def _dtype_of(type_name: str):
    """``'tensor(float)'`` -> float32 (None when the model leaves the type open)."""
    from onnx import TensorProto  # noqa: PLC0415

    from onnumba.graph import elem_type_to_dtype  # noqa: PLC0415

    inner = type_name[type_name.find("(") + 1:type_name.rfind(")")].upper()
    try:
        return elem_type_to_dtype(TensorProto.DataType.Value(inner))
    except Exception:
        return None


def _specs(sess) -> dict:
    out = {}
    for i in sess.get_inputs():
        shape = list(i.shape) if i.shape is not None else None
        out[i.name] = _InputSpec(i.name, None if shape is None else tuple(shape[1:]), _dtype_of(i.type))
    return out


def _check_sources(specs: dict, sources: dict) -> int:
    unknown = sorted(set(sources) - set(specs))
    if unknown:
        raise InputError(f"unknown input name(s) {', '.join(map(repr, unknown))}; the model's inputs are "
                         f"{', '.join(map(repr, specs))}")
    missing = [n for n in specs if n not in sources]
    if missing:
        raise InputError(f"missing input(s) {', '.join(map(repr, missing))}")
    counts = {n: s.rows for n, s in sources.items()}
    if len(set(counts.values())) > 1:
        raise InputError("every input needs the same number of rows, got " +
                         ", ".join(f"{n}: {c}" for n, c in counts.items()))
    for n, s in sources.items():
        _check_rows(specs[n], s.row_shape, s.dtype, 0)
    return next(iter(counts.values()))


def _check_rows(spec: _InputSpec, row_shape, dtype, first_row: int) -> None:
    if row_shape is None:  # an empty folder source
        return
    if spec.dtype is not None and np.dtype(dtype) != spec.dtype:
        raise InputError(f"input {spec.name!r}, row {first_row}: element type {np.dtype(dtype)}, expected "
                         f"{spec.dtype}")
    if spec.row_shape is not None:
        ok = len(row_shape) == len(spec.row_shape) and all(
            not isinstance(d, int) or d < 0 or d == r for d, r in zip(spec.row_shape, row_shape))
        if not ok:
            raise InputError(f"input {spec.name!r}, row {first_row}: row shape {tuple(row_shape)}, expected "
                             f"{tuple(spec.row_shape)} (the model's shape without the batch axis)")


# ------------------------------------------------------------------------------------------------ workers

_SESSIONS: dict = {}  # model digest -> session, one per process (local workers and Dask workers alike)


def _session_for(model: bytes, threads: int = 0):
    import onnumba  # noqa: PLC0415

    key = (hashlib.sha1(model).hexdigest(), threads)
    sess = _SESSIONS.get(key)
    if sess is None:
        opts = onnumba.SessionOptions()
        opts.intra_op_num_threads = threads
        sess = _SESSIONS[key] = onnumba.InferenceSession(model, opts)
    return sess


def _run_chunk(model: bytes, feeds: dict, threads: int = 0) -> list:
    return _session_for(model, threads).run(None, feeds)


_WORKER_MODEL: bytes | None = None


def _init_worker(model: bytes) -> None:
    global _WORKER_MODEL
    _WORKER_MODEL = model
    _session_for(model, 1)


def _run_in_worker(feeds: dict) -> list:
    return _run_chunk(_WORKER_MODEL, feeds, 1)


# ------------------------------------------------------------------------------------------------ progress

class _Progress:
    """rows done / total and rows per second on stderr: a redrawn line on a TTY, one summary line otherwise."""

    def __init__(self, total: int, enabled: bool, callback: Callable | None):
        self.total, self.done, self.t0 = total, 0, time.perf_counter()
        self.tty = enabled and sys.stderr.isatty()
        self.enabled, self.callback = enabled, callback

    def update(self, rows: int) -> None:
        self.done += rows
        if self.callback is not None:
            self.callback(self.done, self.total)
        if self.tty:
            dt = max(time.perf_counter() - self.t0, 1e-9)
            frac = self.done / self.total if self.total else 1.0
            bar = "#" * int(30 * frac)
            sys.stderr.write(f"\r[{bar:<30}] {self.done}/{self.total} rows  {self.done / dt:,.0f} rows/s")
            sys.stderr.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        dt = max(time.perf_counter() - self.t0, 1e-9)
        end = "\n" if self.tty else ""
        sys.stderr.write(f"{end}scored {self.done} rows in {dt:.2f} s ({self.done / dt:,.0f} rows/s)\n")


# ------------------------------------------------------------------------------------------------ drivers

def _chunks(n: int, batch_size: int):
    for lo in range(0, n, batch_size):
        yield lo, min(n, lo + batch_size)


def _feeds(sources: dict, specs: dict, lo: int, hi: int) -> dict:
    feeds = {}
    for name, s in sources.items():
        a = s.read(lo, hi)
        _check_rows(specs[name], a.shape[1:], a.dtype, lo)
        feeds[name] = a
    return feeds


class _Sink:
    """Collects output chunks at their row offsets: in memory, or in .npy memmaps that become an .npz."""

    def __init__(self, names: list, total: int, path: str | None):
        self.names, self.total, self.path = names, total, path
        self.arrays: list | None = None
        self._tmp: list = []

    def put(self, lo: int, outs: list) -> None:
        if self.arrays is None:
            self.arrays = []
            for k, o in enumerate(outs):
                shape = (self.total,) + tuple(o.shape[1:])
                if self.path is None:
                    self.arrays.append(np.empty(shape, o.dtype))
                else:
                    tmp = f"{self.path}.part{k}.npy"
                    self._tmp.append(tmp)
                    self.arrays.append(np.lib.format.open_memmap(tmp, mode="w+", dtype=o.dtype, shape=shape))
        for k, o in enumerate(outs):
            if o.shape[0] != outs[0].shape[0] or tuple(o.shape[1:]) != self.arrays[k].shape[1:]:
                raise OnnumbaError(f"output {self.names[k]!r} changed its row shape between chunks "
                                   f"({self.arrays[k].shape[1:]} then {o.shape[1:]}); batch scoring needs "
                                   f"outputs with one row per input row")
            self.arrays[k][lo:lo + o.shape[0]] = o

    def finish(self) -> dict:
        if self.arrays is None:
            return {}
        result = dict(zip(self.names, self.arrays))
        if self.path is not None:
            for a in self.arrays:
                a.flush()
            tmp_zip = self.path + ".partial"
            with zipfile.ZipFile(tmp_zip, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
                for name, tmp in zip(self.names, self._tmp):
                    z.write(tmp, arcname=f"{name}.npy")
            os.replace(tmp_zip, self.path)  # the file appears only when complete
            self.cleanup()
        return result

    def cleanup(self) -> None:
        self.arrays = None
        for tmp in self._tmp:
            try:
                os.remove(tmp)
            except OSError:
                pass


def _is_dask(a) -> bool:
    return type(a).__module__.startswith("dask.array")


def score(model, inputs: dict, *, batch_size: int = 256, workers: int = 1, scheduler=None,
          progress: bool | Callable = False, output_path: str | None = None) -> dict:
    """Run ``model`` over every row of ``inputs`` and return ``{output name: array}`` (rows in input order).

    Args:
        model: path, bytes or onnx.ModelProto.
        inputs: input name -> rows (numpy array, ``.npy`` path, folder of one-row ``.npy`` files, or dask
            array). With dask arrays the result is a dict of lazy dask arrays chunked like the first input.
        batch_size: rows per ``run`` call (and per task on a cluster).
        workers: local worker processes (1: run in this process).
        scheduler: a ``dask.distributed`` scheduler address or Client: run the chunks on that cluster.
        progress: True for a progress line on stderr, or a callable ``(rows_done, rows_total)``.
        output_path: write the outputs to this ``.npz`` (streamed through memory-mapped files) and return
            memory-free placeholders: the dict then holds the names with ``None``.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not isinstance(workers, int) or workers < 1:
        raise InputError(f"workers must be a positive integer, got {workers!r}")
    model = _model_bytes(model)
    if inputs and all(_is_dask(a) for a in inputs.values()):
        return _score_dask_arrays(model, inputs)
    sess = _session_for(model)
    specs = _specs(sess)
    sources = {n: open_rows(n, s) for n, s in inputs.items()}
    total = _check_sources(specs, sources)
    names = [o.name for o in sess.get_outputs()]
    sink = _Sink(names, total, output_path)
    prog = _Progress(total, progress is True, progress if callable(progress) else None)
    try:
        if scheduler is not None:
            _drive_dask(model, sources, specs, total, batch_size, scheduler, sink, prog)
        elif workers > 1:
            _drive_processes(model, sources, specs, total, batch_size, workers, sink, prog)
        else:
            for lo, hi in _chunks(total, batch_size):
                sink.put(lo, sess.run(None, _feeds(sources, specs, lo, hi)))
                prog.update(hi - lo)
        if total == 0:  # no chunk ran: empty outputs of the right rank from a zero-row run
            sink.put(0, sess.run(None, {n: np.empty((0,) + tuple(d if isinstance(d, int) and d >= 0 else 1
                                                                  for d in (s.row_shape or ())), s.dtype)
                                        for n, s in specs.items()}))
        result = sink.finish()
    except BaseException:
        sink.cleanup()
        raise
    finally:
        prog.close()
    return {n: None for n in names} if output_path is not None else result


def score_to_file(model, inputs: dict, output_path: str, **kw) -> list:
    """:func:`score` streamed into ``output_path`` (.npz, one array per model output); returns the names."""
    return list(score(model, inputs, output_path=output_path, **kw))


_POOLS: dict = {}  # (model digest, workers) -> ProcessPoolExecutor, kept for the next call in this process


def _pool(model: bytes, workers: int):
    import atexit  # noqa: PLC0415
    import concurrent.futures as cf  # noqa: PLC0415
    import multiprocessing as mp  # noqa: PLC0415

    key = (hashlib.sha1(model).hexdigest(), workers)
    ex = _POOLS.get(key)
    if ex is None or getattr(ex, "_broken", False):
        if not _POOLS:
            atexit.register(shutdown_workers)
        ctx = mp.get_context("spawn")  # numba's thread pool does not survive fork
        ex = _POOLS[key] = cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                                  initargs=(model,))
    return ex


def shutdown_workers() -> None:
    """Stop the local worker processes that :func:`score` keeps between calls."""
    while _POOLS:
        _POOLS.popitem()[1].shutdown(cancel_futures=True)


def _drive_processes(model, sources, specs, total, batch_size, workers, sink, prog) -> None:
    import concurrent.futures as cf  # noqa: PLC0415

    ex = _pool(model, workers)
    pending: dict = {}
    for lo, hi in _chunks(total, batch_size):
        pending[ex.submit(_run_in_worker, _feeds(sources, specs, lo, hi))] = (lo, hi)
        if len(pending) >= 2 * workers:
            _collect(pending, sink, prog, cf.FIRST_COMPLETED)
    while pending:
        _collect(pending, sink, prog, cf.FIRST_COMPLETED)


def _collect(pending: dict, sink, prog, how) -> None:
    import concurrent.futures as cf  # noqa: PLC0415

    done, _ = cf.wait(list(pending), return_when=how)
    for f in done:
        lo, hi = pending.pop(f)
        sink.put(lo, f.result())
        prog.update(hi - lo)


def _client_for(scheduler):
    try:
        from distributed import Client  # noqa: PLC0415
    except ImportError:
        raise OnnumbaError("running on a Dask cluster needs dask.distributed: pip install 'onnumba[dask]'") \
            from None
    if isinstance(scheduler, Client):
        return scheduler, False
    return Client(scheduler, timeout="30s"), True


def _drive_dask(model, sources, specs, total, batch_size, scheduler, sink, prog) -> None:
    from distributed import as_completed  # noqa: PLC0415

    client, own = _client_for(scheduler)
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        # shipped once to every worker; a fresh key per call (hash=False): with a content key, the previous call's
        # release of the same key can race this scatter and cancel the chunks ("lost dependencies")
        model_f = client.scatter(model, broadcast=True, hash=False)
        in_flight = 2 * n_workers
        chunks = iter(_chunks(total, batch_size))
        futures = {}

        def submit_next() -> bool:
            nxt = next(chunks, None)
            if nxt is None:
                return False
            lo, hi = nxt
            f = client.submit(_run_chunk, model_f, _feeds(sources, specs, lo, hi), 0, pure=False, retries=3)
            futures[f] = (lo, hi)
            return True

        for _ in range(in_flight):
            if not submit_next():
                break
        ac = as_completed(list(futures))
        for f in ac:
            lo, hi = futures.pop(f)
            sink.put(lo, f.result())
            prog.update(hi - lo)
            if submit_next():
                ac.add(list(futures)[-1])
    finally:
        if own:
            client.close()


def _score_dask_arrays(model: bytes, inputs: dict) -> dict:
    import dask  # noqa: PLC0415
    import dask.array as da  # noqa: PLC0415

    sess = _session_for(model)
    specs = _specs(sess)
    names = list(inputs)
    unknown = sorted(set(names) - set(specs))
    if unknown or len(names) != len(specs):
        raise InputError(f"inputs {sorted(names)} do not match the model's inputs {sorted(specs)}")
    arrays = [inputs[n] for n in names]
    for n, a in zip(names, arrays):
        _check_rows(specs[n], a.shape[1:], a.dtype, 0)
        if a.shape[0] != arrays[0].shape[0]:
            raise InputError("every input needs the same number of rows")
    row_chunks = arrays[0].chunks[0]
    arrays = [a.rechunk({0: row_chunks, **{k: -1 for k in range(1, a.ndim)}}) for a in arrays]
    # output row shapes and types from a one-row run here
    probe = sess.run(None, {n: np.zeros((1,) + a.shape[1:], a.dtype) for n, a in zip(names, arrays)})
    model_d = dask.delayed(model, pure=True)  # one key in the graph: the model travels once per worker
    outs = {}
    for k, (o, p) in enumerate(zip(sess.get_outputs(), probe)):
        def block(*blocks, _model=None, _k=k):
            return _run_chunk(_model, dict(zip(names, blocks)))[_k]

        out_ind = tuple(range(p.ndim))
        args = []
        for a in arrays:
            args += [a, tuple(range(a.ndim)) if a.ndim <= 1 else (0,) + tuple(100 + 10 * len(args) + j
                                                                               for j in range(1, a.ndim))]
        outs[o.name] = da.blockwise(block, out_ind, *args, _model=model_d, dtype=p.dtype,
                                    new_axes={j: p.shape[j] for j in range(1, p.ndim)},
                                    concatenate=True, meta=np.empty((0,) * p.ndim, p.dtype))
    return outs
