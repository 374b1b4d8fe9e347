import pytest

from semantic.cli import main
from semantic.errors import SemanticDataError
from semantic.validation import check_seed_encoding, find_invalid_utf8, repair_utf8


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
