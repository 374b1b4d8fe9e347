import json

import pytest

from semantic.encoding.registry import Registry
from semantic.errors import SemanticConfigError, SemanticModelError


def add_version(root, name, passed=True):
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "semantic_training.json").write_text(json.dumps({"data_hash": name}))
    (folder / "semantic_metrics.json").write_text(json.dumps({"guard": {"passed": passed, "reason": "collapsed"}}))
    return folder


def test_base_is_active_until_a_version_is_activated(tmp_path):
    registry = Registry(tmp_path)
    assert registry.active_name() == "base" and registry.active_dir() is None
    add_version(tmp_path, "v1")
    registry.activate("v1")
    assert registry.active_name() == "v1" and registry.active_dir() == tmp_path / "v1"


def test_a_collapsed_version_is_never_activated(tmp_path):
    add_version(tmp_path, "bad", passed=False)
    with pytest.raises(SemanticModelError, match="collapse guard"):
        Registry(tmp_path).activate("bad")
    assert Registry(tmp_path).active_name() == "base"


def test_unknown_version_lists_the_known_ones(tmp_path):
    add_version(tmp_path, "v1")
    with pytest.raises(SemanticConfigError, match="known: v1"):
        Registry(tmp_path).activate("v9")


def test_rollback_walks_back_one_activation_at_a_time(tmp_path):
    registry = Registry(tmp_path)
    for name in ("v1", "v2", "v3"):
        add_version(tmp_path, name)
        registry.activate(name)
    assert registry.rollback() == "v2"
    assert registry.rollback() == "v1"
    assert registry.rollback() == "base"
    with pytest.raises(SemanticConfigError, match="nothing to roll back"):
        registry.rollback()
    assert registry.active_name() == "base"
    assert [v.name for v in registry.versions()] == ["v1", "v2", "v3"]


def test_the_same_labels_in_another_row_order_make_the_same_version_and_training_run(tmp_path, monkeypatch):
    import random

    import pyarrow as pa

    from semantic.encoding import training
    from semantic.encoding.registry import train_from_warehouse
    from semantic.encoding.training import TrainingConfig

    class Stop(Exception):
        pass

    seen = []

    def fake_train(tasks, out_dir, base, config):
        seen.append((out_dir.name, [(t.name, t.train.texts_a, t.train.texts_b, t.train.labels) for t in tasks]))
        raise Stop

    monkeypatch.setattr(training, "train", fake_train)
    rows = [{"task": task, "split": split, "text_a": f"{task} anchor {i}", "text_b": f"{task} other {i}",
             "label": i % 2} for task in ("duplicate", "lookalike") for split in ("train", "valid") for i in range(6)]
    for seed in (1, 2):
        random.Random(seed).shuffle(rows)
        with pytest.raises(Stop):
            train_from_warehouse(pa.Table.from_pylist(rows), True, TrainingConfig(), Registry(tmp_path / "models"))
    assert seen[0] == seen[1]
