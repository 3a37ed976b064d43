"""onnx node test cases that onnumba supports the ops of but deliberately does not pass, with a reason each.

Keep one section per op family; every entry says why in one line. Cases listed here are reported as
skipped (never counted as passed).
"""

EXCLUDED: dict = {
    # --- shape / plumbing ---
    # Cast to/from float8, float4, int4/uint4, int2/uint2 and float8e8m0: out of scope, Cast refuses them at load
    **{name: "float8/float4/4-bit/2-bit/e8m0 element types are not supported (Cast refuses them at load)"
       for name in (
           'test_cast_FLOAT16_to_FLOAT4E2M1', 'test_cast_FLOAT16_to_FLOAT8E4M3FN',
           'test_cast_FLOAT16_to_FLOAT8E4M3FNUZ', 'test_cast_FLOAT16_to_FLOAT8E5M2',
           'test_cast_FLOAT16_to_FLOAT8E5M2FNUZ', 'test_cast_FLOAT16_to_INT2', 'test_cast_FLOAT16_to_INT4',
           'test_cast_FLOAT16_to_UINT2', 'test_cast_FLOAT16_to_UINT4', 'test_cast_FLOAT4E2M1_to_FLOAT',
           'test_cast_FLOAT4E2M1_to_FLOAT16', 'test_cast_FLOAT8E4M3FNUZ_to_FLOAT',
           'test_cast_FLOAT8E4M3FNUZ_to_FLOAT16', 'test_cast_FLOAT8E4M3FN_to_FLOAT',
           'test_cast_FLOAT8E4M3FN_to_FLOAT16', 'test_cast_FLOAT8E5M2FNUZ_to_FLOAT',
           'test_cast_FLOAT8E5M2FNUZ_to_FLOAT16', 'test_cast_FLOAT8E5M2_to_FLOAT', 'test_cast_FLOAT8E5M2_to_FLOAT16',
           'test_cast_FLOAT_to_FLOAT4E2M1', 'test_cast_FLOAT_to_FLOAT8E4M3FN', 'test_cast_FLOAT_to_FLOAT8E4M3FNUZ',
           'test_cast_FLOAT_to_FLOAT8E5M2', 'test_cast_FLOAT_to_FLOAT8E5M2FNUZ', 'test_cast_FLOAT_to_INT2',
           'test_cast_FLOAT_to_INT4', 'test_cast_FLOAT_to_UINT2', 'test_cast_FLOAT_to_UINT4',
           'test_cast_INT2_to_FLOAT', 'test_cast_INT2_to_FLOAT16', 'test_cast_INT2_to_INT8', 'test_cast_INT4_to_FLOAT',
           'test_cast_INT4_to_FLOAT16', 'test_cast_INT4_to_INT8', 'test_cast_UINT2_to_FLOAT',
           'test_cast_UINT2_to_FLOAT16', 'test_cast_UINT2_to_UINT8', 'test_cast_UINT4_to_FLOAT',
           'test_cast_UINT4_to_FLOAT16', 'test_cast_UINT4_to_UINT8', 'test_cast_e8m0_FLOAT16_to_FLOAT8E8M0',
           'test_cast_e8m0_FLOAT8E8M0_to_FLOAT', 'test_cast_e8m0_FLOAT8E8M0_to_FLOAT16',
           'test_cast_e8m0_FLOAT_to_FLOAT8E8M0', 'test_cast_no_saturate_FLOAT16_to_FLOAT8E4M3FN',
           'test_cast_no_saturate_FLOAT16_to_FLOAT8E4M3FNUZ', 'test_cast_no_saturate_FLOAT16_to_FLOAT8E5M2',
           'test_cast_no_saturate_FLOAT16_to_FLOAT8E5M2FNUZ', 'test_cast_no_saturate_FLOAT_to_FLOAT8E4M3FN',
           'test_cast_no_saturate_FLOAT_to_FLOAT8E4M3FNUZ', 'test_cast_no_saturate_FLOAT_to_FLOAT8E5M2',
           'test_cast_no_saturate_FLOAT_to_FLOAT8E5M2FNUZ', 'test_castlike_FLOAT16_to_FLOAT4E2M1_expanded',
           'test_castlike_FLOAT16_to_FLOAT8E4M3FNUZ_expanded', 'test_castlike_FLOAT16_to_FLOAT8E4M3FN_expanded',
           'test_castlike_FLOAT16_to_FLOAT8E5M2FNUZ_expanded', 'test_castlike_FLOAT16_to_FLOAT8E5M2_expanded',
           'test_castlike_FLOAT16_to_INT2_expanded', 'test_castlike_FLOAT16_to_INT4_expanded',
           'test_castlike_FLOAT16_to_UINT2_expanded', 'test_castlike_FLOAT16_to_UINT4_expanded',
           'test_castlike_FLOAT4E2M1_to_FLOAT16_expanded', 'test_castlike_FLOAT4E2M1_to_FLOAT_expanded',
           'test_castlike_FLOAT8E4M3FNUZ_to_FLOAT16_expanded', 'test_castlike_FLOAT8E4M3FNUZ_to_FLOAT_expanded',
           'test_castlike_FLOAT8E4M3FN_to_FLOAT16_expanded', 'test_castlike_FLOAT8E4M3FN_to_FLOAT_expanded',
           'test_castlike_FLOAT8E5M2FNUZ_to_FLOAT16_expanded', 'test_castlike_FLOAT8E5M2FNUZ_to_FLOAT_expanded',
           'test_castlike_FLOAT8E5M2_to_FLOAT16_expanded', 'test_castlike_FLOAT8E5M2_to_FLOAT_expanded',
           'test_castlike_FLOAT_to_FLOAT4E2M1_expanded', 'test_castlike_FLOAT_to_FLOAT8E4M3FNUZ_expanded',
           'test_castlike_FLOAT_to_FLOAT8E4M3FN_expanded', 'test_castlike_FLOAT_to_FLOAT8E5M2FNUZ_expanded',
           'test_castlike_FLOAT_to_FLOAT8E5M2_expanded', 'test_castlike_FLOAT_to_INT2_expanded',
           'test_castlike_FLOAT_to_INT4_expanded', 'test_castlike_FLOAT_to_UINT2_expanded',
           'test_castlike_FLOAT_to_UINT4_expanded', 'test_castlike_INT2_to_FLOAT16_expanded',
           'test_castlike_INT2_to_FLOAT_expanded', 'test_castlike_INT2_to_INT8_expanded',
           'test_castlike_INT4_to_FLOAT16_expanded', 'test_castlike_INT4_to_FLOAT_expanded',
           'test_castlike_INT4_to_INT8_expanded', 'test_castlike_UINT2_to_FLOAT16_expanded',
           'test_castlike_UINT2_to_FLOAT_expanded', 'test_castlike_UINT2_to_UINT8_expanded',
           'test_castlike_UINT4_to_FLOAT16_expanded', 'test_castlike_UINT4_to_FLOAT_expanded',
           'test_castlike_UINT4_to_UINT8_expanded', 'test_castlike_no_saturate_FLOAT16_to_FLOAT8E4M3FNUZ_expanded',
           'test_castlike_no_saturate_FLOAT16_to_FLOAT8E4M3FN_expanded',
           'test_castlike_no_saturate_FLOAT16_to_FLOAT8E5M2FNUZ_expanded',
           'test_castlike_no_saturate_FLOAT16_to_FLOAT8E5M2_expanded',
           'test_castlike_no_saturate_FLOAT_to_FLOAT8E4M3FNUZ_expanded',
           'test_castlike_no_saturate_FLOAT_to_FLOAT8E4M3FN_expanded',
           'test_castlike_no_saturate_FLOAT_to_FLOAT8E5M2FNUZ_expanded',
           'test_castlike_no_saturate_FLOAT_to_FLOAT8E5M2_expanded')},
    "test_identity_opt": "optional types are not supported (onnumba runs tensor graphs only)",
    "test_identity_sequence": "sequence types are not supported (onnumba runs tensor graphs only)",
    # --- elementwise ---
    # --- conv ---
    # --- conv_transpose / pad / slice ---
    # --- pool / normalization / dropout ---
    # --- gemm / activation / resize ---
    # --- quantization ---
    **{name: "float8/float4/int4/int2 quantized types are not supported (refused at load with a clear error)"
       for name in (
           'test_dequantizelinear_e4m3fn', 'test_dequantizelinear_e4m3fn_float16',
           'test_dequantizelinear_e4m3fn_zero_point', 'test_dequantizelinear_e5m2',
           'test_dequantizelinear_float4e2m1', 'test_dequantizelinear_int2', 'test_dequantizelinear_int4',
           'test_dequantizelinear_uint2', 'test_dequantizelinear_uint4', 'test_quantizelinear_e4m3fn',
           'test_quantizelinear_e5m2', 'test_quantizelinear_float4e2m1', 'test_quantizelinear_int2',
           'test_quantizelinear_int4', 'test_quantizelinear_uint2', 'test_quantizelinear_uint4')},
}
