from pathlib import Path

import pytest

from stxm_devices.config import ConfigError, StxmConfig, load_config


def test_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))  # ~ is expanded when loading, not at import
    config = load_config({})
    assert config.prefix == "SIM:"
    assert config.data_dir == tmp_path / "stxm-data"
    assert config.detector_write_path == f"{tmp_path}/stxm-data/det1/%Y/%m/%d/"
    assert config.frames_root == tmp_path / "stxm-data/det1"
    assert config.tiled_uri is None
    assert config.min_free_mb == 50


def test_detector_path_follows_the_data_dir_unless_set():
    assert load_config({"STXM_DATA_DIR": "/d"}).detector_write_path == "/d/det1/%Y/%m/%d/"
    config = load_config({"STXM_DATA_DIR": "/d", "STXM_DETECTOR_WRITE": "/ioc/%Y/"})
    assert config.detector_write_path == "/ioc/%Y/"
    assert config.frames_root == Path("/ioc")
    read = load_config({"STXM_DETECTOR_WRITE": "/ioc/", "STXM_DETECTOR_READ": "/mnt/ioc/"})
    assert read.frames_root == Path("/mnt/ioc")


def test_arguments_win_and_required_keys_are_named():
    env = {"STXM_DATA_DIR": "/env", "STXM_MIN_FREE_MB": "7"}
    config = load_config(env, data_dir=Path("/arg"), prefix=None)
    assert config.data_dir == Path("/arg")
    assert config.prefix == "SIM:"  # None: not given
    assert config.min_free_mb == 7
    with pytest.raises(ConfigError, match="STXM_DATA_DIR"):
        load_config({}, required=["data_dir"])
    with pytest.raises(ConfigError, match="STXM_MIN_FREE_MB"):
        load_config({"STXM_MIN_FREE_MB": "lots"})


def test_home_is_expanded_when_a_config_is_made(monkeypatch):
    monkeypatch.setenv("HOME", "/nonexistent-home")  # after the module was imported
    assert StxmConfig().data_dir == Path("/nonexistent-home/stxm-data")


def test_environment_wins_over_the_file(tmp_path):
    toml = tmp_path / "stxm.toml"
    toml.write_text('prefix = "BL10:"\ndata_dir = "/data/x"\ntiled_uri = "http://127.0.0.1:8000"\n')
    config = load_config({"STXM_CONFIG": str(toml), "STXM_PREFIX": "BL11:"})
    assert config.prefix == "BL11:"
    assert config.data_dir == Path("/data/x")
    assert config.tiled_uri == "http://127.0.0.1:8000"


def test_unknown_key_and_bad_file_are_named(tmp_path):
    toml = tmp_path / "stxm.toml"
    toml.write_text('prefx = "BL10:"\n')
    with pytest.raises(ConfigError, match="prefx"):
        load_config({"STXM_CONFIG": str(toml)})
    with pytest.raises(ConfigError, match="nope.toml"):
        load_config({"STXM_CONFIG": str(tmp_path / "nope.toml")})
