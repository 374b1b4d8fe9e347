from pathlib import Path

import pytest

from semantic.config import SemanticConfig, default_model_dir
from semantic.encoding.registry import encoder_dir
from semantic.errors import SemanticConfigError


def test_unknown_plugin_key_is_rejected_with_the_accepted_keys():
    with pytest.raises(SemanticConfigError) as err:
        SemanticConfig.from_plugin({"lance_dri": "x"})
    assert "lance_dri" in str(err.value)
    assert "lance_dir" in str(err.value)


def test_environment_overrides_defaults_and_relative_paths_resolve_against_the_project(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("SEMANTIC_HOME", str(tmp_path))
    monkeypatch.setenv("SEMANTIC_LANCE_DIR", "vectors")
    monkeypatch.delenv("SEMANTIC_DB", raising=False)
    monkeypatch.chdir("/")
    config = SemanticConfig.from_plugin({})
    assert config.lance_dir == tmp_path / "vectors"
    assert config.db_path == tmp_path / "data" / "semantic_assets.duckdb"
    assert config.model_dir is None and encoder_dir(config) == default_model_dir()


def test_plugin_config_wins_over_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMANTIC_LANCE_DIR", str(tmp_path / "env"))
    config = SemanticConfig.from_plugin({"lance_dir": str(tmp_path / "profile")})
    assert config.lance_dir == tmp_path / "profile"


def test_empty_model_dir_means_the_packaged_encoder(monkeypatch, tmp_path):
    monkeypatch.setenv("SEMANTIC_MODELS_DIR", str(tmp_path))
    monkeypatch.delenv("SEMANTIC_MODEL_DIR", raising=False)
    config = SemanticConfig.from_plugin({"model_dir": ""})
    assert config.model_dir is None and encoder_dir(config) == default_model_dir()


@pytest.mark.parametrize("bad", [0, -3, "many"])
def test_batch_size_must_be_a_positive_integer(bad):
    with pytest.raises(SemanticConfigError, match="batch_size"):
        SemanticConfig.from_plugin({"batch_size": bad})


def test_config_is_frozen():
    config = SemanticConfig.from_plugin({})
    with pytest.raises(AttributeError):
        config.batch_size = 3  # type: ignore[misc]
    assert isinstance(config.with_overrides(batch_size=8).db_path, Path)


def test_the_registry_active_version_is_used_unless_a_model_dir_is_fixed(tmp_path, monkeypatch):
    import shutil

    from semantic.encoding.registry import Registry

    monkeypatch.delenv("SEMANTIC_MODEL_DIR", raising=False)
    version = tmp_path / "models" / "v1"
    shutil.copytree(default_model_dir(), version)
    (version / "semantic_training.json").write_text("{}")
    (version / "semantic_metrics.json").write_text('{"guard": {"passed": true}}')
    config = SemanticConfig.from_plugin({"models_dir": str(tmp_path / "models")})
    assert encoder_dir(config) == default_model_dir()
    Registry(tmp_path / "models").activate("v1")
    assert encoder_dir(config) == version
    fixed = config.with_overrides(model_dir=str(default_model_dir()))
    assert encoder_dir(fixed) == default_model_dir()


@pytest.mark.parametrize(("host", "loopback"), [("localhost", True), ("127.0.0.1", True), ("127.8.0.2", True),
                                                ("::1", True), ("0.0.0.0", False), ("10.0.0.5", False),
                                                ("example.com", False), ("", False), (None, False)])
def test_is_loopback_names_only_addresses_this_machine_reaches(host, loopback):
    from semantic.config import is_loopback

    assert is_loopback(host) is loopback
