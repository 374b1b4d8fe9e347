import csv

from semantic.cli import main


def test_demo_data_writes_the_five_seeds(tmp_path, capsys):
    assert main(["demo-data", "--seed", "3", "--n-assets", "150", "--out", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.glob("*.csv"))
    assert names == [
        "demo_assets.csv",
        "demo_brief_matches.csv",
        "demo_briefs.csv",
        "demo_compliance_references.csv",
        "demo_labelled_pairs.csv",
    ]
    with open(tmp_path / "demo_assets.csv", newline="", encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == 150
    assert "n_assets: 150" in capsys.readouterr().out


def test_functions_lists_every_sql_function(capsys):
    assert main(["functions"]) == 0
    out = capsys.readouterr().out
    for name in ("semantic_embed(VARCHAR)", "semantic_similarity(VARCHAR, VARCHAR)", "semantic_search("):
        assert name in out


def test_summary_without_a_database_says_what_to_run(tmp_path, capsys):
    assert main(["summary", "--db", str(tmp_path / "none.duckdb"), "--lance-dir", str(tmp_path)]) == 0
    assert "run `make run`" in capsys.readouterr().out


def test_evaluate_without_demo_labels_is_a_clear_error(tmp_path, capsys):
    assert main(["evaluate", "--seeds", str(tmp_path)]) == 2
    assert "semantic demo-data" in capsys.readouterr().err
