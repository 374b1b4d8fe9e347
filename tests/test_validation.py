import pytest

from semantic.cli import main
from semantic.errors import SemanticDataError
from semantic.warehouse.validation import check_seed_encoding, find_invalid_utf8, repair_utf8


def test_invalid_utf8_is_reported_with_file_line_and_fix(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("id,text\n1,café ☕\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"id,text\n1,fine\n2,broken \xff\xfe bytes\n")
    assert find_invalid_utf8(good) is None
    problem = find_invalid_utf8(bad)
    assert problem is not None and problem.line == 3
    with pytest.raises(SemanticDataError) as err:
        check_seed_encoding([good, bad])
    message = str(err.value)
    assert "bad.csv line 3" in message and "fix-encoding" in message and "good.csv" not in message


def test_repair_replaces_invalid_bytes_and_keeps_a_backup(tmp_path):
    bad = tmp_path / "bad.csv"
    original = b"id,text\n2,broken \xff bytes\n"
    bad.write_bytes(original)
    assert repair_utf8(bad) == 1
    assert bad.read_text(encoding="utf-8") == "id,text\n2,broken \ufffd bytes\n"
    assert (tmp_path / "bad.csv.bak").read_bytes() == original
    assert repair_utf8(bad) == 0


def test_check_seeds_command_exits_non_zero_on_bad_files(tmp_path, capsys):
    (tmp_path / "x.csv").write_bytes(b"a\n\xc3\x28\n")
    assert main(["check-seeds", str(tmp_path)]) == 2
    assert "x.csv line 2" in capsys.readouterr().err


def test_a_duckdb_encoding_error_is_located_by_line_column_and_the_mapped_id(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from semantic.warehouse.validation import locate_invalid_utf8

    path = tmp_path / "ads.csv"
    path.write_bytes(b"Ad_ID,body\nx1,fine\nx2,caf\xe9\n")
    assert locate_invalid_utf8(f"CSV Error on Line: 3\n  file = {path}\n", "ad_id") == (
        path, ": line 3, column body, ad_id 'x2' (byte 25)")
    text = pa.StringArray.from_buffers(2, pa.array([0, 2, 6], pa.int32()).buffers()[1], pa.py_buffer(b"okcaf\xe9"))
    parquet = tmp_path / "ads.parquet"
    pq.write_table(pa.table({"Ad_ID": ["x1", "x2"], "body": text}), parquet)
    assert locate_invalid_utf8(f'Invalid string encoding found in Parquet file "{parquet}": value', "ad_id") == (
        parquet, ": column body, 1 row(s), Ad_ID 'x2'")
    assert locate_invalid_utf8("Catalog Error: no such table") == (None, "")
