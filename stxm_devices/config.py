"""Site configuration of a STXM session: prefix, data directory, catalog.

Read by the startup profile (the only place that reads the environment) from
``STXM_*`` variables or a small TOML file (``STXM_CONFIG``, keys the same names in
lower case); variables win over the file, the file over the defaults.

=====================  ============================  ==================================
variable               TOML key                      default
=====================  ============================  ==================================
STXM_PREFIX            prefix                        ``SIM:``
STXM_DATA_DIR          data_dir                      ``~/stxm-data``
STXM_DETECTOR_WRITE    detector_write_path           ``<data_dir>/det1/%Y/%m/%d/``
STXM_DETECTOR_READ     detector_read_path            (the write path)
STXM_TILED_URI         tiled_uri                     a local catalog under data_dir
STXM_TILED_API_KEY     tiled_api_key                 (none)
=====================  ============================  ==================================
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class ConfigError(ValueError):
    """A configuration file or value that cannot be used (names the file and key)."""


@dataclass(frozen=True)
class StxmConfig:
    """Where the beamline is and where its data go."""

    prefix: str = "SIM:"
    data_dir: Path = Path("~/stxm-data").expanduser()
    detector_write_path: str | None = None
    detector_read_path: str | None = None
    tiled_uri: str | None = None
    tiled_api_key: str | None = None

    @property
    def detector_path(self) -> str:
        """The area detector's write path template (defaults under the data directory)."""
        return self.detector_write_path or f"{self.data_dir}/det1/%Y/%m/%d/"


_KEYS = {
    "prefix": "STXM_PREFIX",
    "data_dir": "STXM_DATA_DIR",
    "detector_write_path": "STXM_DETECTOR_WRITE",
    "detector_read_path": "STXM_DETECTOR_READ",
    "tiled_uri": "STXM_TILED_URI",
    "tiled_api_key": "STXM_TILED_API_KEY",
}


def load_config(environ: Mapping[str, str]) -> StxmConfig:
    """The configuration from ``environ`` (and the TOML file it may name)."""
    values: dict[str, str] = {}
    path = environ.get("STXM_CONFIG")
    if path:
        try:
            with open(path, "rb") as handle:
                table = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"STXM_CONFIG={path}: {error}") from error
        unknown = set(table) - set(_KEYS)
        if unknown:
            raise ConfigError(f"{path}: unknown key(s) {sorted(unknown)}; known: {sorted(_KEYS)}")
        values.update({key: str(value) for key, value in table.items()})
    values.update({key: environ[var] for key, var in _KEYS.items() if environ.get(var)})
    if "data_dir" in values:
        values["data_dir"] = Path(values["data_dir"]).expanduser()
    return StxmConfig(**values)
