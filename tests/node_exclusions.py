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
    # the shape / axes input is fed; onnumba needs it at plan time (run with it as an initializer in test_shape.py)
    **{name: "shape/axes input fed at run time; onnumba needs it at plan time (tests/ops/test_shape.py runs it as "
             "a constant)"
       for name in (
           "test_reshape_allowzero_reordered", "test_reshape_extended_dims", "test_reshape_negative_dim",
           "test_reshape_negative_extended_dims", "test_reshape_one_dim", "test_reshape_reduced_dims",
           "test_reshape_reordered_all_dims", "test_reshape_reordered_last_dims", "test_reshape_zero_and_negative_dim",
           "test_reshape_zero_dim", "test_squeeze", "test_squeeze_negative_axes", "test_unsqueeze_axis_0",
           "test_unsqueeze_axis_1", "test_unsqueeze_axis_2", "test_unsqueeze_negative_axes",
           "test_unsqueeze_three_axes", "test_unsqueeze_two_axes", "test_unsqueeze_unsorted_axes",
           "test_expand_dim_changed", "test_expand_dim_unchanged", "test_constantofshape_float_ones",
           "test_constantofshape_int_shape_zero", "test_constantofshape_int_zeros")},
    # node_suite.run_case feeds these cases' TensorProto inputs unconverted (test_shape.py runs them converted)
    **{f"test_cast{like}_{a}_to_{b}{exp}": "stored inputs are TensorProtos the harness passes unconverted "
                                           "(tests/ops/test_shape.py runs them converted)"
       for like, exp in (("", ""), ("like", "_expanded"))
       for a, b in (("BFLOAT16", "FLOAT"), ("DOUBLE", "FLOAT"), ("DOUBLE", "FLOAT16"), ("FLOAT16", "DOUBLE"),
                    ("FLOAT16", "FLOAT"), ("FLOAT", "BFLOAT16"), ("FLOAT", "DOUBLE"), ("FLOAT", "FLOAT16"))},
    # function-expanded cases that reach a Reshape / Expand / Slice through Shape of a fed input: they need the
    # planner to fold Shape/Size from input infos (the Shape.plan_value / Size.plan_value hook in ops/shape.py)
    **{name: "needs the planner to fold Shape of a fed input (Shape.plan_value hook, not wired in planner yet)"
       for name in (
           "test_causal_conv_with_state_decode_step_expanded",
           "test_causal_conv_with_state_with_bias_and_past_state_expanded",
           "test_causal_conv_with_state_with_past_state_expanded", "test_depthtospace_crd_mode_example_expanded",
           "test_depthtospace_example_expanded", "test_spacetodepth_crd_mode_example_expanded",
           "test_spacetodepth_dcr_mode_example_expanded", "test_spacetodepth_example_expanded",
           "test_spacetodepth_expanded", "test_flexattention_diff_head_sizes_expanded_ver26",
           "test_flexattention_double_expanded_ver26", "test_flexattention_expanded_ver26",
           "test_flexattention_fp16_expanded_ver26", "test_flexattention_gqa_expanded_ver26",
           "test_flexattention_prob_mod_expanded_ver26", "test_flexattention_scaled_expanded_ver26",
           "test_flexattention_score_mod_expanded_ver26", "test_flexattention_soft_cap_expanded_ver26")},
    # --- elementwise ---
    # --- conv ---
    # --- conv_transpose / pad / slice ---
    # pads / starts / ends (or the crop shape they come from) are fed; onnumba needs them at plan time
    **{name: "pads/starts/ends fed at run time; onnumba needs them at plan time (tests/ops/test_pad.py and "
             "test_slice.py run the same data with them as constants)"
       for name in (
           "test_constant_pad", "test_constant_pad_axes", "test_constant_pad_negative_axes", "test_edge_pad",
           "test_reflect_pad", "test_wrap_pad", "test_slice", "test_slice_default_axes", "test_slice_default_steps",
           "test_slice_end_out_of_bounds", "test_slice_neg", "test_slice_neg_steps", "test_slice_negative_axes",
           "test_slice_start_out_of_bounds", "test_center_crop_pad_crop_and_pad_expanded",
           "test_center_crop_pad_crop_axes_chw_expanded", "test_center_crop_pad_crop_axes_hwc_expanded",
           "test_center_crop_pad_crop_expanded", "test_center_crop_pad_crop_negative_axes_hwc_expanded",
           "test_center_crop_pad_pad_expanded")},
    # --- pool / normalization / dropout ---
    # --- gemm / activation / resize ---
    # Resize / Upsample: scales / sizes / roi are fed at run time; onnumba needs them at plan time (the output
    # shape depends on them). tests/ops/test_resize.py runs every one of these with them as initializers.
    **{name: "scales/sizes/roi fed at run time; onnumba needs them at plan time (tests/ops/test_resize.py runs it "
             "with them as initializers)"
       for name in (
           'test_resize_downsample_scales_cubic', 'test_resize_downsample_scales_cubic_A_n0p5_exclude_outside',
           'test_resize_downsample_scales_cubic_align_corners', 'test_resize_downsample_scales_cubic_antialias',
           'test_resize_downsample_scales_linear', 'test_resize_downsample_scales_linear_align_corners',
           'test_resize_downsample_scales_linear_antialias',
           'test_resize_downsample_scales_linear_half_pixel_symmetric', 'test_resize_downsample_scales_nearest',
           'test_resize_downsample_sizes_cubic', 'test_resize_downsample_sizes_cubic_antialias',
           'test_resize_downsample_sizes_linear_antialias', 'test_resize_downsample_sizes_linear_pytorch_half_pixel',
           'test_resize_downsample_sizes_nearest', 'test_resize_downsample_sizes_nearest_not_larger',
           'test_resize_downsample_sizes_nearest_not_smaller', 'test_resize_tf_crop_and_resize',
           'test_resize_tf_crop_and_resize_axes_2_3', 'test_resize_tf_crop_and_resize_axes_3_2',
           'test_resize_tf_crop_and_resize_extrapolation_value', 'test_resize_upsample_scales_cubic',
           'test_resize_upsample_scales_cubic_A_n0p5_exclude_outside',
           'test_resize_upsample_scales_cubic_align_corners', 'test_resize_upsample_scales_cubic_asymmetric',
           'test_resize_upsample_scales_linear', 'test_resize_upsample_scales_linear_align_corners',
           'test_resize_upsample_scales_linear_half_pixel_symmetric', 'test_resize_upsample_scales_nearest',
           'test_resize_upsample_scales_nearest_axes_2_3', 'test_resize_upsample_scales_nearest_axes_3_2',
           'test_resize_upsample_sizes_cubic', 'test_resize_upsample_sizes_nearest',
           'test_resize_upsample_sizes_nearest_axes_2_3', 'test_resize_upsample_sizes_nearest_axes_3_2',
           'test_resize_upsample_sizes_nearest_ceil_half_pixel',
           'test_resize_upsample_sizes_nearest_floor_align_corners', 'test_resize_upsample_sizes_nearest_not_larger',
           'test_resize_upsample_sizes_nearest_not_smaller',
           'test_resize_upsample_sizes_nearest_round_prefer_ceil_asymmetric', 'test_upsample_nearest',)},
}
