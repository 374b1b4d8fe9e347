import csv
import json
import logging
import re

import numpy as np
import pytest

from semantic.encoding.training import (
    PairSet,
    TrainingConfig,
    _embedded_once,
    best_units,
    data_hash,
    load_task,
    mine_hard_negatives,
)
from semantic.errors import SemanticConfigError, SemanticDataError, SemanticModelError


def write_pairs(folder, rows, name="train.csv"):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / name, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text_a", "text_b", "label"])
        writer.writerows(rows)
    return folder


def test_load_pairs_and_retrieval_folders(tmp_path):
    pairs = write_pairs(tmp_path / "p", [("a", "b", 1), ("a", "c", 0)])
    write_pairs(pairs, [("x", "y", 1)], "valid.csv")
    task = load_task(pairs)
    assert (task.kind, len(task.train), task.train.n_positive, len(task.valid)) == ("pairs", 2, 1, 1)

    r = tmp_path / "r"
    r.mkdir()
    (r / "queries.csv").write_text("id,text\nq1,brief one\n")
    (r / "corpus.csv").write_text("id,text\nd1,headline one\nd2,other\n")
    (r / "qrels.csv").write_text("query_id,doc_id,relevance\nq1,d1,1\n")
    task = load_task(r)
    assert task.kind == "retrieval" and task.train.texts_a == ["brief one"] and task.train.texts_b == ["headline one"]


def test_bad_task_folders_are_named_with_the_fix(tmp_path):
    (tmp_path / "cols").mkdir()
    (tmp_path / "cols" / "train.csv").write_text("left,right,label\na,b,1\n")
    with pytest.raises(SemanticDataError, match=r"no column\(s\) \['text_a', 'text_b'\]"):
        load_task(tmp_path / "cols")
    write_pairs(tmp_path / "lab", [("a", "b", 1), ("c", "d", "yes")])
    with pytest.raises(SemanticDataError, match="line 3: label must be 0 or 1"):
        load_task(tmp_path / "lab")
    write_pairs(tmp_path / "neg", [("a", "b", 0)])
    with pytest.raises(SemanticDataError, match="no positive pairs"):
        load_task(tmp_path / "neg")
    with pytest.raises(SemanticDataError, match="not a task folder"):
        load_task(tmp_path)


def test_training_config_rejects_bad_values():
    with pytest.raises(SemanticConfigError, match="unknown loss"):
        TrainingConfig(loss="arcface")
    with pytest.raises(SemanticConfigError, match="epochs"):
        TrainingConfig(epochs=0)


def test_data_hash_changes_with_the_labels(tmp_path):
    a = load_task(write_pairs(tmp_path / "a", [("x", "y", 1), ("x", "z", 0)]))
    b = load_task(write_pairs(tmp_path / "b", [("x", "y", 1), ("x", "z", 1)]))
    assert data_hash([a]) != data_hash([b]) and data_hash([a]) == data_hash([a])


def test_each_text_is_encoded_once_across_the_calls_before_training():
    asked = []

    def encode(texts):
        asked.append(list(texts))
        return np.array([[len(t), i] for i, t in enumerate(texts)], dtype=np.float32).reshape(len(texts), 2)

    embed = _embedded_once(encode)
    first = embed(["ab", "c", "ab"])
    again = embed(["c", "def", "ab"])
    assert asked == [["ab", "c"], ["def"]]  # a repeat within a call and across calls is not encoded again
    assert first.tolist() == [[2, 0], [1, 1], [2, 0]]  # in the order asked, repeats included
    assert again.tolist() == [[1, 1], [3, 0], [2, 0]]
    assert embed([]).shape == (0, 2) and asked[-1] == []  # nothing asked: the encoder's own empty answer


def test_miner_prefers_labelled_negatives_and_its_guard_drops_false_negatives():
    # hand-built geometry: the anchor "q" has positive "p" at cos 0.8; "twin" (same cluster as p via
    # another labelled pair) and "close" (cos 0.79, within the 0.05 margin) must not be negatives;
    # "far" (cos 0.2) is the mined negative.
    angle = {"q": 0.0, "p": 36.87, "close": -37.8, "far": 78.46, "twin": 30.0, "r": 90.0, "s": 95.0}
    vec = {t: np.array([np.cos(np.deg2rad(d)), np.sin(np.deg2rad(d))]) for t, d in angle.items()}

    def embed(texts):
        return np.stack([vec[t] for t in texts])

    pairs = PairSet(
        texts_a=["q", "twin", "q2", "q2", "x"],
        texts_b=["p", "twin", "r", "s", "far"],
        labels=[1, 1, 1, 0, 0],
    )
    # make "twin" a cluster member of p: (p, twin) positive
    pairs = PairSet(pairs.texts_a + ["p"], pairs.texts_b + ["twin"], pairs.labels + [1])
    vec["q2"], vec["x"] = vec["r"], vec["far"]
    pairs = PairSet(pairs.texts_a + ["y"], pairs.texts_b + ["close"], pairs.labels + [0])
    triplets, report = mine_hard_negatives(pairs, embed, top_k=10, margin=0.05)
    as_dict = {a: n for a, _, n in triplets}
    assert as_dict["q2"] == "s"  # the labelled negative wins
    assert as_dict["q"] == "far"  # mined past the guard
    assert report.labelled >= 1 and report.mined >= 1
    assert report.dropped_by_margin >= 1  # "close" scores within the margin of the positive
    assert report.dropped_known_positive >= 2  # "p" itself and its cluster twin


@pytest.mark.slow
def test_the_collapse_guard_fires_on_an_all_positive_run_with_a_huge_learning_rate(tmp_path):
    from semantic.config import default_model_dir
    from semantic.encoding.encoder import load_encoder
    from semantic.encoding.training import train

    words = ["coffee", "jacket", "loan", "solar", "kibble", "bike", "serum", "tent", "savings", "heat pump"]
    partners = words[3:] + words[:3]
    rows = [(f"{a} offer {i}", f"{b} deal {i}", 1) for i, (a, b) in enumerate(zip(words * 4, partners * 4))]
    task = load_task(write_pairs(tmp_path / "allpos", rows))
    config = TrainingConfig(loss="contrastive", epochs=3, batch_size=8, learning_rate=0.05, max_seq_length=16)
    with pytest.raises(SemanticModelError, match="collapsed"):
        train([task], tmp_path / "collapsed", default_model_dir(), config)
    metrics = json.loads((tmp_path / "collapsed" / "semantic_metrics.json").read_text())
    assert metrics["guard"]["passed"] is False
    with pytest.raises(SemanticModelError, match="collapse guard"):
        load_encoder(tmp_path / "collapsed")


def test_best_units_pairs_a_claim_with_the_sentence_that_restates_it(real_encoder):
    claim = "Clinically proven to cure eczema in two weeks."
    asset = "Meet the new Lumora range. Eczema gone for good in just 14 days, the trials prove it. Shop now online."
    benign = "Suitable for eczema-prone skin: fragrance-free. Order today and save ten percent on your first box."
    pairs = PairSet([claim, claim, claim], [asset, benign, "Cures eczema."], [1, 0, 1])
    found, changed = best_units(pairs, lambda texts: real_encoder.encode(texts))
    # sentences are cut as the compliance check cuts them: after the full stop, which goes
    assert found.texts_b == ["Eczema gone for good in just 14 days, the trials prove it",
                             "Suitable for eczema-prone skin: fragrance-free", "Cures eczema."]
    assert changed == 2 and found.texts_a == pairs.texts_a and found.labels == pairs.labels
    single = PairSet([claim], ["Cures eczema."], [1])
    assert best_units(single, lambda texts: pytest.fail("nothing to choose, nothing to embed")) == (single, 0)


@pytest.mark.slow
def test_a_small_healthy_run_passes_the_guard_and_writes_its_metadata(tmp_path, caplog):
    from semantic.config import default_model_dir
    from semantic.encoding.encoder import load_encoder, model_info
    from semantic.encoding.training import Task, train

    products = ["down jacket", "espresso beans", "savings account", "solar panel", "cat food", "e-bike",
                "face serum", "tent", "heat pump", "dog kibble", "rain shell", "travel card"]
    rows = [(f"{p} for sale", f"buy a {p} today", 1) for p in products] + [
        (f"{p} for sale", f"buy a {q} today", 0) for p, q in zip(products, products[1:])
    ]
    task = load_task(write_pairs(tmp_path / "ok", rows))
    # a second task scored by its best sentence, so batches come from one task at a time
    claims = ["Cures eczema in two weeks.", "Offer ends at midnight tonight.", "Your money is 100% protected."]
    lookalike = Task("lookalike", "pairs", PairSet(
        claims * 2,
        ["New range. Eczema gone in fourteen days, guaranteed.", "Hurry. The deal closes tonight at twelve.",
         "Open an account. Your savings are totally safe, always.", "Fragrance-free cream for dry skin.",
         "Offer ends on 12 May.", "Eligible deposits are covered up to the scheme limit."],
        [1, 1, 1, 0, 0, 0]), None, tmp_path / "lookalike", best_unit=True)
    with caplog.at_level(logging.INFO, logger="semantic"):
        result = train([task, lookalike], tmp_path / "tuned", default_model_dir(),
                       TrainingConfig(epochs=1, batch_size=4, seed=1))
    assert result.guard["passed"]
    assert "lookalike: trained on the best unit of each text (a sentence instead of the whole text for 3 of 6" \
        in caplog.text
    meta = json.loads((tmp_path / "tuned" / "semantic_training.json").read_text())
    assert meta["data_hash"] == data_hash([task, lookalike]) and meta["config"]["seed"] == 1
    assert meta["config"]["task_batches"] is True
    assert meta["mining"]["labelled"] == 11 + 3
    assert model_info(tmp_path / "tuned").version.startswith("tuned-")
    assert load_encoder(tmp_path / "tuned").encode(["tent"]).shape == (1, 384)


@pytest.mark.slow
def test_the_same_seed_gives_the_same_weights(tmp_path):
    from semantic.config import default_model_dir
    from semantic.encoding.training import train

    rows = [(f"{p} on sale", f"buy {p} now", 1) for p in ("tents", "coffee", "loans", "bikes", "serum", "kibble")]
    rows += [("tents on sale", "buy coffee now", 0), ("loans on sale", "buy serum now", 0)]
    task = load_task(write_pairs(tmp_path / "d", rows))
    config = TrainingConfig(epochs=1, batch_size=4, seed=7, max_seq_length=16)
    train([task], tmp_path / "a", default_model_dir(), config)
    train([task], tmp_path / "b", default_model_dir(), config)
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == (tmp_path / "b" / "model.safetensors").read_bytes()


def test_supcon_classes_are_the_connected_components_of_the_labelled_matches():
    from semantic.encoding.supcon import class_examples

    texts, classes = class_examples(["a", "b", "x", "c", "y"], ["b", "c", "y", "z", "q"], [1, 1, 1, 0, 0])
    by_text = dict(zip(texts, classes))
    assert set(texts) == {"a", "b", "c", "x", "y"}  # z and q are only in non-matches: no class of two
    assert by_text["a"] == by_text["b"] == by_text["c"] != by_text["x"] == by_text["y"]


def test_the_supcon_loss_is_low_when_classes_separate_and_its_guard_spares_likely_false_negatives():
    import torch

    from semantic.encoding.supcon import make_loss

    class Fixed(torch.nn.Module):
        def forward(self, features):
            return {"sentence_embedding": features["x"]}

    labels = torch.tensor([0, 0, 1, 1])
    apart = torch.tensor([[1.0, 0.0], [0.99, 0.1], [0.0, 1.0], [0.1, 0.99]])
    mixed = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.99, 0.1], [0.1, 0.99]])
    unguarded = make_loss(Fixed(), margin=None)
    assert unguarded([{"x": apart}], labels) < unguarded([{"x": mixed}], labels)
    # a negative as close as the positives is left out of the anchor's denominator by the guard
    close = torch.tensor([[1.0, 0.0], [0.9, 0.43], [0.95, 0.31], [0.0, 1.0]])
    guarded = make_loss(Fixed(), margin=0.05)
    assert guarded([{"x": close}], labels) < unguarded([{"x": close}], labels)


@pytest.mark.slow
def test_a_supcon_run_trains_on_the_classes_and_passes_the_guard(tmp_path, caplog):
    from semantic.config import default_model_dir
    from semantic.encoding.training import train

    products = ["down jacket", "espresso beans", "savings account", "solar panel", "cat food", "e-bike"]
    rows = [(f"{p} for sale", f"buy a {p} today", 1) for p in products]
    rows += [(f"buy a {p} today", f"the {p}, in stock", 1) for p in products]
    rows += [(f"{p} for sale", f"buy a {q} today", 0) for p, q in zip(products, products[1:])]
    task = load_task(write_pairs(tmp_path / "d", rows))
    with caplog.at_level(logging.INFO, logger="semantic"):
        result = train([task], tmp_path / "tuned", default_model_dir(),
                       TrainingConfig(loss="supcon", epochs=1, batch_size=6, seed=3, max_seq_length=16))
    assert result.guard["passed"] and "supcon: 18 texts in 6 classes" in caplog.text
    meta = json.loads((tmp_path / "tuned" / "semantic_training.json").read_text())
    assert meta["config"]["loss"] == "supcon"


@pytest.mark.slow
def test_keep_base_mixes_the_base_weights_back_and_the_model_records_how_much_general_order_it_kept(tmp_path):
    import hashlib
    from dataclasses import asdict

    from safetensors.numpy import load_file

    from semantic.config import default_model_dir
    from semantic.encoding.training import train, version_name

    rows = [(f"{p} on sale", f"buy {p} now", 1) for p in ("tents", "coffee", "loans", "bikes", "serum", "kibble")]
    rows += [("tents on sale", "buy coffee now", 0), ("loans on sale", "buy serum now", 0)]
    task = load_task(write_pairs(tmp_path / "d", rows))
    tuned = TrainingConfig(epochs=1, batch_size=4, seed=7, max_seq_length=16, learning_rate=1e-4)
    mixed = TrainingConfig(epochs=1, batch_size=4, seed=7, max_seq_length=16, learning_rate=1e-4, keep_base=0.5)
    a = train([task], tmp_path / "a", default_model_dir(), tuned)
    b = train([task], tmp_path / "b", default_model_dir(), mixed)
    base_weights = load_file(str(default_model_dir() / "model.safetensors"))
    wa, wb = load_file(str(tmp_path / "a" / "model.safetensors")), load_file(str(tmp_path / "b" / "model.safetensors"))
    moved = [name for name in wa if not np.allclose(wa[name], base_weights[name])]
    assert moved  # tuning changed weights, and the mixed model sits half way
    for name in moved:
        np.testing.assert_allclose(wb[name], 0.5 * base_weights[name] + 0.5 * wa[name], rtol=1e-4, atol=1e-6)
    for result, keep in ((a, 0.0), (b, 0.5)):
        general = json.loads((result.out_dir / "semantic_metrics.json").read_text())["general"]
        assert general["keep_base"] == keep and 0.0 < general["base_agreement"] <= 1.0
        assert "General ability: Spearman" in (result.out_dir / "README.md").read_text()
    assert b.general["base_agreement"] >= a.general["base_agreement"]
    # a setting added later keeps the names of versions trained before it, at its default
    added = ("keep_base", "bf16", "frozen_layers", "augment", "layer_decay")  # each added after versions were trained
    old = hashlib.sha256(json.dumps({k: v for k, v in asdict(tuned).items() if k not in added},
                                    sort_keys=True).encode()).hexdigest()[:6]
    assert version_name([task], tuned).endswith("-" + old)
    assert version_name([task], mixed) != version_name([task], tuned)
    with pytest.raises(SemanticConfigError, match="keep_base"):
        TrainingConfig(keep_base=1.0)


def test_frozen_lower_layers_keep_the_base_weights_and_bf16_trains_a_usable_model(tmp_path, caplog):
    from safetensors.numpy import load_file

    from semantic.config import default_model_dir
    from semantic.encoding.training import resolve_bf16, train, version_name

    rows = [(f"{p} on sale", f"buy {p} now", 1) for p in ("tents", "coffee", "loans", "bikes", "serum", "kibble")]
    rows += [("tents on sale", "buy coffee now", 0), ("loans on sale", "buy serum now", 0)]
    task = load_task(write_pairs(tmp_path / "d", rows))
    config = TrainingConfig(epochs=1, batch_size=4, seed=7, max_seq_length=16, learning_rate=1e-4, bf16=True,
                            frozen_layers=4, augment=1, layer_decay=0.5)
    with caplog.at_level(logging.INFO, logger="semantic"):
        result = train([task], tmp_path / "m", default_model_dir(), config)
    assert "training the top 2 of 6 layers" in caplog.text and result.guard["passed"]
    assert "augment: 1 copies of each triplet" in caplog.text
    base = load_file(str(default_model_dir() / "model.safetensors"))
    tuned = load_file(str(tmp_path / "m" / "model.safetensors"))
    moved = {name for name in tuned if not np.array_equal(tuned[name], base[name])}
    assert moved and all(".layer.4." in n or ".layer.5." in n or "pooler" in n for n in moved), sorted(moved)[:5]
    assert json.loads((tmp_path / "m" / "semantic_training.json").read_text())["config"]["bf16"] is True
    assert json.loads((tmp_path / "m" / "semantic_metrics.json").read_text())["general"]["layer_decay"] == 0.5
    assert "layer-wise learning-rate decay 0.5" in (tmp_path / "m" / "README.md").read_text()
    assert version_name([task], config) != version_name([task], TrainingConfig(epochs=1, batch_size=4, seed=7,
                                                                                max_seq_length=16, learning_rate=1e-4))
    assert resolve_bf16("true") and not resolve_bf16("false") and isinstance(resolve_bf16("auto"), bool)
    with pytest.raises(SemanticConfigError, match="semantic_train_bf16"):
        resolve_bf16("sometimes")
    with pytest.raises(SemanticConfigError, match="frozen_layers"):
        TrainingConfig(frozen_layers=-1)


def test_layer_decay_gives_each_lower_layer_a_share_of_the_rate_above():
    from sentence_transformers import SentenceTransformer

    from semantic.config import default_model_dir
    from semantic.encoding.training import _freeze_lower_layers, _layer_decay_optimizer

    model = SentenceTransformer(str(default_model_dir()), device="cpu")
    transformer = model[0].auto_model
    optimizer = _layer_decay_optimizer(model, TrainingConfig(learning_rate=1e-4, layer_decay=0.5))
    rate = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    assert len(rate) == len([p for p in model.parameters() if p.requires_grad])  # every trained weight, once
    layers = transformer.encoder.layer
    for i, layer in enumerate(layers):  # the top layer at the rate, each one below at half the one above
        assert [rate[id(p)] for p in layer.parameters()] == pytest.approx([1e-4 * 0.5 ** (len(layers) - 1 - i)] * 16)
    embeddings = [rate[id(p)] for p in transformer.embeddings.parameters()]
    assert embeddings == pytest.approx([1e-4 * 0.5 ** len(layers)] * len(embeddings))
    assert [rate[id(p)] for p in transformer.pooler.parameters()] == [1e-4, 1e-4]  # above the layers: the full rate
    _freeze_lower_layers(model, 2)  # frozen weights get no group
    optimizer = _layer_decay_optimizer(model, TrainingConfig(layer_decay=0.5))
    trained = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert not trained & {id(p) for p in (*transformer.embeddings.parameters(), *layers[0].parameters())}
    for bad in (0.0, 1.5):
        with pytest.raises(SemanticConfigError, match="layer_decay must be in"):
            TrainingConfig(layer_decay=bad)


def test_the_training_vars_become_a_config_and_a_bad_one_is_named():
    from semantic.encoding.training import config_from_vars

    config = config_from_vars({"loss": "mnrl", "epochs": "2", "learning_rate": "8.0e-5", "seed": "42",
                               "keep_base": "0.0", "bf16": "false", "max_seq_length": "96"})
    assert (config.loss, config.epochs, config.learning_rate, config.seed, config.max_seq_length, config.bf16) == \
        ("mnrl", 2, 8e-5, 42, 96, False)
    assert config_from_vars({"epochs": 3.0}).epochs == 3  # YAML may give a float of a whole number
    assert config_from_vars({"augment": "2"}).augment == 2
    assert config_from_vars({"layer_decay": "0.8"}).layer_decay == 0.8
    for values, message in (
        ({"epochs": "three"}, "semantic_train_epochs must be a whole number, got 'three'"),
        ({"max_seq_length": "96.5"}, "semantic_train_max_seq_length must be a whole number"),
        ({"max_seq_length": "0"}, "semantic_train_max_seq_length: max_seq_length must be a positive integer"),
        ({"learning_rate": "fast"}, "semantic_train_learning_rate must be a number"),
        ({"learning_rate": "2"}, "semantic_train_learning_rate: learning_rate must be in"),
        ({"keep_base": "1"}, "semantic_train_keep_base: keep_base must be in"),
        ({"augment": "-1"}, "semantic_train_augment: augment must be a whole number of copies"),
        ({"augment": "1.5"}, "semantic_train_augment must be a whole number"),
        ({"layer_decay": "steep"}, "semantic_train_layer_decay must be a number"),
        ({"layer_decay": "0"}, "semantic_train_layer_decay: layer_decay must be in (0, 1]"),
        ({"loss": "hinge"}, "semantic_train_loss: unknown loss 'hinge'"),
        ({"bf16": "sometimes"}, "semantic_train_bf16 must be auto, true or false"),
    ):
        with pytest.raises(SemanticConfigError, match=re.escape(message)):
            config_from_vars(values)
