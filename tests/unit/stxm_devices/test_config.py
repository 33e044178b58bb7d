from pathlib import Path

import pytest

from stxm_devices.config import ConfigError, load_config


def test_defaults():
    config = load_config({})
    assert config.prefix == "SIM:"
    assert config.detector_path.endswith("/det1/%Y/%m/%d/")
    assert config.tiled_uri is None


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
