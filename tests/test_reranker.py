"""The pair reranker (``semantic.encoding.reranker``): training, scoring, the guard, SQL and the CLI.

A tiny invented product-pairs task trains a real cross-encoder from the packaged MiniLM weights in
seconds (short pairs, one small epoch): the tests check the mechanics and the contracts, not the
quality, which ``semantic evaluate --reranker`` measures on real sets (docs/benchmarks.md).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import numpy as np
import pytest

from semantic.cli import main
from semantic.config import SemanticConfig, default_model_dir
from semantic.encoding.registry import Registry, reranker_dir
from semantic.encoding.reranker import Reranker, RerankerConfig, load_reranker, train_reranker
from semantic.encoding.training import load_task
from semantic.errors import SemanticConfigError, SemanticDataError, SemanticModelError
from semantic.warehouse.functions import register

pytestmark = pytest.mark.slow

PRODUCTS = [
    ("Trailmaster 40 L hiking backpack, green", "Trailmaster hiking pack 40 litre green"),
    ("Aurora espresso machine 15 bar, steel", "Aurora 15-bar espresso maker stainless steel"),
    ("Nimbus wireless earbuds, noise cancelling", "Nimbus noise-cancelling wireless earphones"),
    ("Helix 27 inch 4K monitor", "Helix 27in UHD 4K display"),
    ("Cobalt cordless drill 18 V", "Cobalt 18-volt cordless power drill"),
    ("Orchid ceramic teapot 1.2 L", "Orchid 1.2 litre ceramic tea pot"),
    ("Summit down jacket, men's large", "Summit men's down jacket size L"),
    ("Pixel 128 GB memory card", "Pixel 128GB SD memory card"),
]


def _write_task(folder: Path) -> Path:
    folder.mkdir(parents=True)
    rows = []
    for i, (a, b) in enumerate(PRODUCTS):
        rows.append((a, b, 1))
        other = PRODUCTS[(i + 3) % len(PRODUCTS)][1]
        rows.append((a, other, 0))
    splits = {"train": rows[:12] * 2, "valid": rows[12:], "test": rows[12:]}
    for name, chosen in splits.items():
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["text_a", "text_b", "label"])
            writer.writerows(chosen)
    return folder


TINY = RerankerConfig(epochs=1, batch_size=8, max_length=48, learning_rate=5e-5)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("reranker")
    task = load_task(_write_task(root / "pairs" / "tiny"))
    result = train_reranker([task], root / "rr", default_model_dir(), TINY)
    return root, result


def test_a_reranker_is_a_directory_with_its_records_and_a_file_hash_version(trained):
    root, result = trained
    assert (result.out_dir / "config.json").is_file()
    training = json.loads((result.out_dir / "semantic_training.json").read_text())
    assert training["kind"] == "reranker" and training["config"]["max_length"] == 48
    assert training["tasks"] == [{"name": "tiny", "train": 24, "valid": 4}]
    assert result.version.startswith("rr-") and result.version == Reranker(result.out_dir).version
    # safetensors only, and a record of its files so that a later change is caught
    names = {p.relative_to(result.out_dir).as_posix() for p in result.out_dir.rglob("*") if p.is_file()}
    assert "model.safetensors" in names and "semantic_manifest.json" in names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl", ".ckpt"))]
    assert training["manifest"] == "semantic_manifest.json"
    # the guard compares with the cosine of the encoder it started from, and says so
    guard = json.loads((result.out_dir / "semantic_metrics.json").read_text())["guard"]
    assert guard["passed"] == (guard["valid_ap"] > guard["cosine_valid_ap"])
    assert "against" in guard["reason"]


def test_scores_are_probabilities_the_same_in_both_orders_and_nan_for_blank_text(trained):
    _, result = trained
    reranker = load_reranker(result.out_dir)
    assert load_reranker(result.out_dir) is reranker  # loaded once per process
    a = [PRODUCTS[0][0], PRODUCTS[1][0], "", None, PRODUCTS[2][0]]
    b = [PRODUCTS[0][1], PRODUCTS[4][1], "x", "y", "   "]
    scores = reranker.score(a, b)
    assert np.all((scores[:2] >= 0) & (scores[:2] <= 1))
    assert np.isnan(scores[2:]).all()
    assert np.allclose(reranker.score(b[:2], a[:2]), scores[:2], atol=1e-6)
    with pytest.raises(SemanticDataError, match="as many first texts as second texts"):
        reranker.score(["a"], ["b", "c"])


def test_training_needs_both_labels_and_sane_settings(tmp_path):
    task = load_task(_write_task(tmp_path / "tiny"))
    only_matches = type(task.train)(task.train.texts_a, task.train.texts_b, [1] * len(task.train))
    with pytest.raises(SemanticDataError, match="matches and non-matches"):
        train_reranker([type(task)("x", "pairs", only_matches, None, tmp_path)], tmp_path / "out",
                       default_model_dir(), TINY)
    with pytest.raises(SemanticConfigError, match="max_length"):
        RerankerConfig(max_length=4)


def test_sql_pair_score_uses_the_configured_reranker_and_returns_null_for_blank(trained, tmp_path, fake_encoder):
    _, result = trained
    config = SemanticConfig(db_path=tmp_path / "x.duckdb", lance_dir=tmp_path / "lance", model_dir=None,
                            models_dir=tmp_path / "models", reranker_dir=result.out_dir)
    con = duckdb.connect()
    register(con, config, encoder=fake_encoder)
    a, b = PRODUCTS[3]
    (score,) = con.execute("select semantic_pair_score(?, ?)", [a, b]).fetchone()
    assert 0.0 <= score <= 1.0
    assert score == pytest.approx(float(load_reranker(result.out_dir).score([a], [b])[0]), abs=1e-6)
    nulls = con.execute("select semantic_pair_score(x, y) from (values (NULL, 'a'), ('a', ''), ('  ', 'b')) t(x, y)"
                        ).fetchall()
    assert nulls == [(None,), (None,), (None,)]
    assert con.execute("select semantic_reranker_version()").fetchone() == (result.version,)


def test_sql_pair_score_without_a_reranker_says_how_to_train_one(tmp_path, fake_encoder):
    config = SemanticConfig(db_path=tmp_path / "x.duckdb", lance_dir=tmp_path / "lance", model_dir=None,
                            models_dir=tmp_path / "models")
    assert reranker_dir(config) is None
    con = duckdb.connect()
    register(con, config, encoder=fake_encoder)
    assert con.execute("select semantic_pair_score(NULL, 'a')").fetchone() == (None,)  # nothing to score: no load
    with pytest.raises(duckdb.Error, match="semantic train --cross-encoder"):
        con.execute("select semantic_pair_score('a', 'b')").fetchone()


def test_a_reranker_that_fails_its_guard_is_not_activated(trained, tmp_path):
    _, result = trained
    registry = Registry(tmp_path / "rerankers")
    copy = registry.root / "failed"
    import shutil

    shutil.copytree(result.out_dir, copy)
    metrics = json.loads((copy / "semantic_metrics.json").read_text())
    metrics["guard"] = {"passed": False, "reason": "valid AP 0.400 against 0.700 for the cosine of base"}
    (copy / "semantic_metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(SemanticModelError):
        registry.activate("failed")
    assert registry.active_dir() is None


def test_the_cli_trains_into_the_registry_and_evaluate_scores_with_it(semantic_home, capsys):
    tmp_path = semantic_home
    task = _write_task(tmp_path / "pairs" / "tiny")
    code = main(["train", "--cross-encoder", "--data", str(task), "--epochs", "1", "--batch-size", "8",
                 "--max-seq-length", "48"])
    out = capsys.readouterr().out
    registry = Registry(tmp_path / "data" / "rerankers")
    [version] = registry.versions()
    assert f"written to {version.path}" in out
    if code == 0:
        assert registry.active_name() == version.name and "activated" in out
    else:
        assert code == 1 and "guard: FAILED" in out and registry.active_dir() is None
    # a pairs folder with only valid and test is scored (no pair decision without train)
    only = tmp_path / "only_valid_test"
    only.mkdir()
    for name in ("valid", "test"):
        (only / f"{name}.csv").write_text((task / f"{name}.csv").read_text())
    assert main(["evaluate", "--data", str(only), "--reranker", str(version.path)]) == 0
    table = capsys.readouterr().out
    assert "| only_valid_test | base |" in table and f"| only_valid_test | reranker {version.path.name}-" in table
    assert "+decision" not in table


def test_a_registered_reranker_changed_by_one_byte_is_refused_and_pickle_weights_never_load(trained, tmp_path):
    import shutil

    _, result = trained
    registry = Registry(tmp_path / "rerankers")
    copy = registry.root / "rr-copy"
    shutil.copytree(result.out_dir, copy)
    # the tiny reranker may fail its guard; the check of its files does not depend on that: force a pass
    (copy / "semantic_metrics.json").write_text(json.dumps({"guard": {"passed": True}}))
    registry.activate("rr-copy")
    config = SemanticConfig(db_path=tmp_path / "x.duckdb", lance_dir=tmp_path / "lance", model_dir=None,
                            models_dir=tmp_path / "models")
    assert reranker_dir(config) == copy and load_reranker(copy).version == f"rr-copy-{result.version[3:]}"
    with open(copy / "model.safetensors", "r+b") as fh:
        fh.seek(1 << 20)
        byte = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([byte[0] ^ 0xFF]))
    expected = (r"model version rr-copy .*: its files changed since it was registered \(changed: model.safetensors\)"
                r", so it is refused; retrain it with `semantic train --cross-encoder`")
    with pytest.raises(SemanticModelError, match=expected):
        reranker_dir(config)
    with pytest.raises(SemanticModelError, match=expected):
        load_reranker(copy)
    plain = tmp_path / "plain"  # a reranker directory given by hand, without a file record
    shutil.copytree(result.out_dir, plain, ignore=shutil.ignore_patterns("semantic_*.json"))
    Reranker(plain)
    (plain / "pytorch_model.bin").write_bytes(b"\x80\x02}q\x00.")
    with pytest.raises(SemanticModelError, match="pytorch_model.bin holds pickle-based weights"):
        load_reranker(plain)
