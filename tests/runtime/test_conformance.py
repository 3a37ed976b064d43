"""The conformance table that `onnumba conformance` prints."""

from onnumba.conformance import conformance_table, format_table


def test_table_rows_count_cases_and_agree_with_onnxruntime():
    rows = {r["op"]: r for r in conformance_table(ops=["Relu", "Conv", "Cast"])}
    assert set(rows) == {"Relu", "Conv", "Cast"}
    assert rows["Conv"]["cases"] >= 6 and rows["Conv"]["failed"] == 0
    assert rows["Conv"]["ort_agree"] == rows["Conv"]["ort_cases"] > 0
    # float8 / 4-bit casts are refused at load with onnumba's own error, never counted as passed
    assert rows["Cast"]["refused"] and rows["Cast"]["passed"] + len(rows["Cast"]["refused"]) == rows["Cast"]["cases"]
    text = format_table(list(rows.values()))
    assert "| Conv | 1, 11, 22 |" in text and "refused at load" in text
