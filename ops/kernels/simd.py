"""16-lane float32 vector intrinsics for Numba kernels that keep a register tile of accumulators.

Plain Numba loops cannot keep a tile of accumulators in registers (LLVM leaves array accumulators in memory),
so register-tiled kernels (``ops/kernels/packed_gemm.py``, ConvTranspose's stride-2 paths) are written with these small
intrinsics over an LLVM ``<16 x float>`` value, the type :data:`f32x16`. On AVX-512 CPUs each is one zmm
instruction; elsewhere LLVM splits it into two ymm (AVX2) or four xmm halves, with the same results.

Every array argument must be a C-contiguous float32 array (any rank); ``off`` is a flat element offset from
its first element. Nothing is bounds-checked: the caller guarantees every lane it touches lies inside the
array (the masked variants touch only their active lanes).

* :func:`vzero`, :func:`vsplat` -- all lanes 0 / ``s``.
* :func:`vload`, :func:`vstore` -- ``arr.flat[off:off+16]``.
* :func:`sload` -- the scalar ``arr.flat[off]`` (no negative-index wraparound test, unlike ``arr[off]``).
* :func:`vload_lanes` -- lanes ``j < n`` from ``arr.flat[off+j]``, the others 0 (masked load).
* :func:`vstore_lanes` -- store lanes ``lo <= j < hi`` only (masked store).
* :func:`vfma` -- ``acc + v * s`` for a float32 scalar ``s``, one rounding (one FMA with an embedded broadcast).
* :func:`vadd` -- lane-wise ``a + b``; :func:`vmul` -- lane-wise ``v * s`` for a scalar ``s``.
* :func:`vsel_gt`, :func:`vsel_lt`, :func:`vsel_ge` -- lane-wise ``a if x > y else b`` (``<``, ``>=``),
  ordered comparisons: a NaN lane in ``x`` selects ``b``.
* :func:`vzip_lo`, :func:`vzip_hi` -- lanes 0..7 (8..15) of ``a`` and ``b`` interleaved.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model


class F32x16(types.Type):
    """Numba type of a 16-lane float32 vector value (an LLVM ``<16 x float>``)."""

    def __init__(self):
        super().__init__(name="f32x16")


f32x16 = F32x16()
_VEC = ir.VectorType(ir.FloatType(), 16)
_I32 = ir.IntType(32)
_MASK = ir.VectorType(ir.IntType(1), 16)


@register_model(F32x16)
class _F32x16Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VEC)


def _f32_c_array(arr) -> bool:
    return isinstance(arr, types.Array) and arr.dtype == types.float32 and arr.layout == "C"


def _vec_ptr(context, builder, aty, arr, off):
    data = context.make_array(aty)(context, builder, arr).data
    return builder.bitcast(builder.gep(data, [off]), _VEC.as_pointer())


def _splat(builder, x, vty):
    n = vty.count
    b = builder.insert_element(ir.Constant(vty, ir.Undefined), x, ir.Constant(_I32, 0))
    return builder.shuffle_vector(b, ir.Constant(vty, ir.Undefined), ir.Constant(ir.VectorType(_I32, n), [0] * n))


def _lane_mask(builder, lo, hi):
    """<16 x i1>: lo <= lane < hi (lo, hi intp)."""
    ivt = ir.VectorType(ir.IntType(64), 16)
    lanes = ir.Constant(ivt, list(range(16)))
    return builder.and_(builder.icmp_signed(">=", lanes, _splat(builder, lo, ivt)),
                        builder.icmp_signed("<", lanes, _splat(builder, hi, ivt)))


@intrinsic
def vzero(typingctx):
    """A vector of zeros."""
    return f32x16(), lambda context, builder, sig, args: ir.Constant(_VEC, None)


@intrinsic
def vsplat(typingctx, s):
    """A vector with every lane ``s`` (float32)."""
    if s != types.float32:
        return None

    def codegen(context, builder, sig, args):
        return _splat(builder, args[0], _VEC)

    return f32x16(types.float32), codegen


@intrinsic
def vload(typingctx, arr, off):
    """``arr.flat[off:off+16]`` of a contiguous float32 array (no bounds check)."""
    if not _f32_c_array(arr):
        return None

    def codegen(context, builder, sig, args):
        return builder.load(_vec_ptr(context, builder, sig.args[0], args[0], args[1]), align=4)

    return f32x16(arr, types.intp), codegen


@intrinsic
def sload(typingctx, arr, off):
    """The float32 scalar ``arr.flat[off]`` (no bounds check, no negative-index wraparound)."""
    if not _f32_c_array(arr):
        return None

    def codegen(context, builder, sig, args):
        data = context.make_array(sig.args[0])(context, builder, args[0]).data
        return builder.load(builder.gep(data, [args[1]]), align=4)

    return types.float32(arr, types.intp), codegen


@intrinsic
def vload_lanes(typingctx, arr, off, n):
    """Lanes ``j < n`` from ``arr.flat[off + j]``, the other lanes 0 (a masked load: addresses of the other
    lanes are not read, so the vector may run past the end of the array)."""
    if not _f32_c_array(arr):
        return None

    def codegen(context, builder, sig, args):
        ptr = _vec_ptr(context, builder, sig.args[0], args[0], args[1])
        mask = _lane_mask(builder, ir.Constant(ir.IntType(64), 0), args[2])
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_VEC, [_VEC.as_pointer(), _I32, _MASK, _VEC]), "llvm.masked.load.v16f32.p0")
        return builder.call(fn, [ptr, ir.Constant(_I32, 4), mask, ir.Constant(_VEC, None)])

    return f32x16(arr, types.intp, types.intp), codegen


@intrinsic
def vstore(typingctx, arr, off, v):
    """``arr.flat[off:off+16] = v`` (no bounds check)."""
    if not _f32_c_array(arr):
        return None

    def codegen(context, builder, sig, args):
        builder.store(args[2], _vec_ptr(context, builder, sig.args[0], args[0], args[1]), align=4)
        return context.get_dummy_value()

    return types.none(arr, types.intp, f32x16), codegen


@intrinsic
def vstore_lanes(typingctx, arr, off, v, lo, hi):
    """``arr.flat[off + j] = v[j]`` for lanes ``lo <= j < hi`` only (a masked store: the other lanes' addresses
    are not touched, so ``off`` may lie before the array as long as ``off + lo`` does not)."""
    if not _f32_c_array(arr):
        return None

    def codegen(context, builder, sig, args):
        ptr = _vec_ptr(context, builder, sig.args[0], args[0], args[1])
        mask = _lane_mask(builder, args[3], args[4])
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [_VEC, _VEC.as_pointer(), _I32, _MASK]),
            "llvm.masked.store.v16f32.p0")
        builder.call(fn, [args[2], ptr, ir.Constant(_I32, 4), mask])
        return context.get_dummy_value()

    return types.none(arr, types.intp, f32x16, types.intp, types.intp), codegen


@intrinsic
def vfma(typingctx, acc, v, s):
    """``acc + v * s`` with ``s`` a float32 scalar broadcast to every lane, one rounding (fused)."""
    if s != types.float32:
        return None

    def codegen(context, builder, sig, args):
        b = _splat(builder, args[2], _VEC)
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_VEC, [_VEC] * 3), "llvm.fma.v16f32")
        return builder.call(fma, [args[1], b, args[0]])

    return f32x16(f32x16, f32x16, types.float32), codegen


@intrinsic
def vadd(typingctx, a, b):
    """Lane-wise ``a + b``."""
    def codegen(context, builder, sig, args):
        return builder.fadd(args[0], args[1])

    return f32x16(f32x16, f32x16), codegen


@intrinsic
def vmul(typingctx, v, s):
    """Lane-wise ``v * s`` for a float32 scalar ``s``."""
    if s != types.float32:
        return None

    def codegen(context, builder, sig, args):
        return builder.fmul(args[0], _splat(builder, args[1], _VEC))

    return f32x16(f32x16, types.float32), codegen


@intrinsic
def vmulv(typingctx, a, b):
    """Lane-wise ``a * b`` of two vectors."""

    def codegen(context, builder, sig, args):
        return builder.fmul(args[0], args[1])

    return f32x16(f32x16, f32x16), codegen


def _select(op):
    @intrinsic
    def vsel(typingctx, x, y, a, b):
        def codegen(context, builder, sig, args):
            return builder.select(builder.fcmp_ordered(op, args[0], args[1]), args[2], args[3])

        return f32x16(f32x16, f32x16, f32x16, f32x16), codegen

    vsel.__doc__ = f"Lane-wise ``a if x {op} y else b`` (ordered: a NaN lane of x or y selects b)."
    return vsel


vsel_gt = _select(">")
vsel_lt = _select("<")
vsel_ge = _select(">=")


def _interleave(half):
    idx = [j // 2 + 16 * (j % 2) + 8 * half for j in range(16)]

    @intrinsic
    def vzip(typingctx, a, b):
        def codegen(context, builder, sig, args):
            return builder.shuffle_vector(args[0], args[1], ir.Constant(ir.VectorType(_I32, 16), idx))

        return f32x16(f32x16, f32x16), codegen

    return vzip


#: lanes 0..7 of a and b interleaved (a0 b0 a1 b1 ... a7 b7), and lanes 8..15 (a8 b8 ... a15 b15)
vzip_lo = _interleave(0)
vzip_hi = _interleave(1)
