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


def test_the_console_script_exits_with_the_verdict_whatever_the_teardown_does():
    # a native library aborting at interpreter exit (as OpenVINO's teardown once did: exit -6) must not turn
    # `semantic check`'s verdict into a crash: the console script ends before any exit handler runs
    import subprocess
    import sys

    script = ("import atexit, os, sys, semantic.cli as cli\n"
              "atexit.register(os.abort)  # what an aborting teardown does\n"
              "cli.main = lambda argv=None: print('verdict: flag') or 1\n"
              "cli.run()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (1, "verdict: flag\n")  # flushed, then the command's own status
    plain = subprocess.run([sys.executable, "-c", script.replace("cli.run()", "sys.exit(cli.main())")],
                           capture_output=True, text=True, timeout=120)
    assert plain.returncode == -6  # the same process left to its teardown: the abort wins
