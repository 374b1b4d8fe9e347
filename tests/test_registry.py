import json
import logging
import shutil

import pytest

from semantic.config import SemanticConfig, default_model_dir
from semantic.encoding.encoder import load_encoder
from semantic.encoding.integrity import MANIFEST_FILE, write_manifest
from semantic.encoding.registry import Registry, encoder_dir, versions_table
from semantic.errors import SemanticConfigError, SemanticModelError


def add_version(root, name, passed=True, record=True):
    """A registered version as training leaves it, with a stand-in weights file (activation never loads it)."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "modules.json").write_text("[]")
    (folder / "model.safetensors").write_bytes(name.encode() * 16)
    (folder / "semantic_training.json").write_text(
        json.dumps({"data_hash": name, **({"manifest": MANIFEST_FILE} if record else {})}))
    (folder / "semantic_metrics.json").write_text(json.dumps({"guard": {"passed": passed, "reason": "collapsed"}}))
    if record:
        write_manifest(folder)
    return folder


def flip_one_byte(path, offset=None):
    """Change one byte of a file in place: same size, same name, other weights."""
    with open(path, "r+b") as fh:
        fh.seek(path.stat().st_size // 2 if offset is None else offset)
        byte = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([byte[0] ^ 0xFF]))


@pytest.fixture
def registered(tmp_path):
    """A copy of the packaged base model registered as a tuned version (named as training names them) and
    the config whose registry holds it."""
    root = tmp_path / "models"
    folder = root / "5e1f0c2d3a-9b8c7d"
    shutil.copytree(default_model_dir(), folder)
    (folder / "semantic_training.json").write_text(json.dumps({"data_hash": "5e1f0c2d3a", "manifest": MANIFEST_FILE}))
    (folder / "semantic_metrics.json").write_text(json.dumps({"guard": {"passed": True}}))
    write_manifest(folder)
    config = SemanticConfig(db_path=tmp_path / "x.duckdb", lance_dir=tmp_path / "lance", model_dir=None,
                            models_dir=root)
    return config, Registry(root), folder


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


# --- models are data: a registered version is loaded only as it was saved -------------------------------


def test_the_active_version_passes_its_check_and_loads(registered):
    config, registry, folder = registered
    assert encoder_dir(config) == default_model_dir()  # base: not in the registry, not checked by name
    registry.activate(folder.name)
    assert encoder_dir(config) == folder
    assert load_encoder(encoder_dir(config)).version.startswith(folder.name + "-")


def test_a_registered_version_changed_by_one_byte_is_refused_even_after_it_was_loaded(registered):
    config, registry, folder = registered
    registry.activate(folder.name)
    load_encoder(encoder_dir(config))  # loaded and hashed once: the change below must not hide behind that
    flip_one_byte(folder / "model.safetensors")
    expected = (f"model version {folder.name} .*: its files changed since it was registered "
                r"\(changed: model.safetensors\), so it is refused; "
                "run `semantic rollback` or `semantic activate base`")
    with pytest.raises(SemanticModelError, match=expected):
        encoder_dir(config)
    with pytest.raises(SemanticModelError, match=expected):  # a path given by hand is checked too
        load_encoder(folder)
    with pytest.raises(SemanticModelError, match=expected):
        registry.activate(folder.name)
    # the listing still shows it (so the user can see what to roll back to), and base is one command away
    assert folder.name in versions_table(registry).column("version").to_pylist()
    registry.activate("base")
    assert encoder_dir(config) == default_model_dir()


def test_activate_verifies_before_switching_and_names_added_and_removed_files(tmp_path):
    registry = Registry(tmp_path)
    folder = add_version(tmp_path, "v1")
    (folder / "extra.json").write_text("{}")
    (folder / "modules.json").unlink()
    (folder / "modules.json").write_text("[]")  # rewritten with the same bytes: not a change
    with pytest.raises(SemanticModelError, match=r"\(added: extra.json\)"):
        registry.activate("v1")
    assert registry.active_name() == "base" and registry.history() == []


def test_a_rollback_to_a_version_changed_since_is_refused(tmp_path):
    registry = Registry(tmp_path)
    first = add_version(tmp_path, "v1")
    add_version(tmp_path, "v2")
    registry.activate("v1")
    registry.activate("v2")
    (first / "modules.json").unlink()
    (first / "modules.json.bak").write_text("[]")
    with pytest.raises(SemanticModelError, match=r"v1 .*\(added: modules.json.bak; removed: modules.json\)"):
        registry.rollback()
    assert registry.active_name() == "v2"


def test_pickle_weights_in_a_registered_version_are_refused_before_activation(tmp_path):
    registry = Registry(tmp_path)
    folder = add_version(tmp_path, "v1")
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "pytorch_model.bin").write_bytes(b"\x80\x02}q\x00.")  # a pickle
    with pytest.raises(SemanticModelError, match="1_Pooling/pytorch_model.bin holds pickle-based weights"):
        registry.activate("v1")
    assert registry.active_name() == "base"


def test_a_version_saved_before_file_records_gets_one_and_is_checked_from_then_on(tmp_path, caplog):
    registry = Registry(tmp_path)
    folder = add_version(tmp_path, "old", record=False)
    with caplog.at_level(logging.WARNING, logger="semantic"):
        registry.activate("old")
    assert "saved before file records: recorded its files now" in caplog.text
    assert (folder / MANIFEST_FILE).is_file()
    flip_one_byte(folder / "model.safetensors")
    with pytest.raises(SemanticModelError, match=r"changed: model.safetensors"):
        registry.verify("old")


def test_a_version_saved_with_a_file_record_that_is_gone_is_refused(tmp_path):
    folder = add_version(tmp_path, "v1")
    (folder / MANIFEST_FILE).unlink()
    with pytest.raises(SemanticModelError, match=f"its file record {MANIFEST_FILE} is missing"):
        Registry(tmp_path).activate("v1")


@pytest.mark.slow
def test_a_version_trained_into_the_registry_is_safetensors_only_and_loads(tmp_path):
    from semantic.encoding.training import PairSet, Task, TrainingConfig, train

    products = ["tents", "coffee", "loans", "bikes", "serum", "kibble"]
    pairs = PairSet([f"{p} on sale" for p in products], [f"buy {p} now" for p in products], [1] * len(products))
    registry = Registry(tmp_path / "models")
    folder = registry.root / "trained"
    train([Task("t", "pairs", pairs, None, tmp_path)], folder, default_model_dir(),
          TrainingConfig(epochs=1, batch_size=4, seed=7, max_seq_length=16))
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert "model.safetensors" in names and MANIFEST_FILE in names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl", ".ckpt"))]
    registry.activate("trained")
    encoder = load_encoder(registry.verify("trained").path)
    assert encoder.encode(["tents on sale"]).shape == (1, 384)


def test_no_pair_reranker_is_trained_on_fewer_pairs_than_its_head_needs(tmp_path, monkeypatch, caplog):
    import pyarrow as pa

    import semantic.encoding.reranker
    from semantic.encoding.registry import train_reranker_from_warehouse
    from semantic.encoding.reranker import RerankerConfig

    def never(*args, **kwargs):
        raise AssertionError("a reranker was trained")

    monkeypatch.setattr(semantic.encoding.reranker, "train_reranker", never)
    rows = [{"task": "duplicate", "split": "train", "text_a": f"item {i}", "text_b": f"item {i} copy",
             "label": i % 2, "left_id": f"a{i}", "right_id": f"b{i}"} for i in range(120)]
    registry = Registry(tmp_path / "rerankers")
    with caplog.at_level(logging.INFO, logger="semantic"):
        table = train_reranker_from_warehouse(pa.Table.from_pylist(rows), True, RerankerConfig(), registry,
                                              min_positives=30, min_pairs=1000)
    assert table.num_rows == 0 and registry.active_name() == "base"
    assert "120 labelled duplicate pairs in train, 60 of them matches (need 1000 pairs" in caplog.text
