"""Site configuration of a STXM session: prefix, data directory, detector paths, catalog.

One ``StxmConfig``, read by the startup profile and every ``stxm`` subcommand through
``load_config``: command-line arguments win over ``STXM_*`` variables, which win over a
small TOML file (``STXM_CONFIG``, keys the same names in lower case), which wins over
the defaults.  Nothing is read or expanded at import.

=====================  ============================  ==================================
variable               TOML key                      default
=====================  ============================  ==================================
STXM_PREFIX            prefix                        ``SIM:`` (``iocs.prefixes``)
STXM_DATA_DIR          data_dir                      ``~/stxm-data``
STXM_DETECTOR_WRITE    detector_write_path           ``<data_dir>/det1/%Y/%m/%d/``
STXM_DETECTOR_READ     detector_read_path            (the write path)
STXM_TILED_URI         tiled_uri                     a local catalog under data_dir
STXM_TILED_API_KEY     tiled_api_key                 (none)
STXM_MIN_FREE_MB       min_free_mb                   ``50``
STXM_BROKER_URL        broker_url                    (none: assemble in the session)
=====================  ============================  ==================================
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from iocs.prefixes import DEFAULT_PREFIX

#: The detector's files under a data directory: one folder per day, as the IOC makes them.
DETECTOR_SUBPATH = "det1/%Y/%m/%d/"


class ConfigError(ValueError):
    """A configuration file or value that cannot be used (names the file and key)."""


def default_data_dir() -> Path:
    """``~/stxm-data`` of the user running the session (expanded when asked, not at import)."""
    return Path("~/stxm-data").expanduser()


def detector_write_path_under(data_dir: str | Path) -> str:
    """The detector's write path template under ``data_dir`` (the one default)."""
    return f"{Path(data_dir)}/{DETECTOR_SUBPATH}"


@dataclass(frozen=True)
class StxmConfig:
    """Where the beamline is and where its data go.

    ``detector_write_path`` is the area detector's write path template as its IOC sees
    the disk (default: under ``data_dir``); ``detector_read_path`` where this machine
    reads the same files, if it sees them under another path. ``broker_url``: a NATS
    JetStream server (``stxm facility up``) the session publishes its documents to, for
    the assembler service to journal and write, instead of assembling them itself.
    """

    prefix: str = DEFAULT_PREFIX
    data_dir: Path = field(default_factory=default_data_dir)
    detector_write_path: str = ""
    detector_read_path: str | None = None
    tiled_uri: str | None = None
    tiled_api_key: str | None = None
    min_free_mb: int = 50
    broker_url: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser())
        try:
            object.__setattr__(self, "min_free_mb", int(self.min_free_mb))
        except ValueError:
            raise ConfigError(
                f"min_free_mb (STXM_MIN_FREE_MB): {self.min_free_mb!r} is not a number of MB"
            ) from None
        if not self.detector_write_path:
            path = detector_write_path_under(self.data_dir)
            object.__setattr__(self, "detector_write_path", path)

    @property
    def frames_root(self) -> Path:
        """The fixed part of the path this machine reads the detector's files under."""
        return Path((self.detector_read_path or self.detector_write_path).split("%", 1)[0])


#: Each configuration key and the variable that sets it.
VARIABLES: dict[str, str] = {
    "prefix": "STXM_PREFIX",
    "data_dir": "STXM_DATA_DIR",
    "detector_write_path": "STXM_DETECTOR_WRITE",
    "detector_read_path": "STXM_DETECTOR_READ",
    "tiled_uri": "STXM_TILED_URI",
    "tiled_api_key": "STXM_TILED_API_KEY",
    "min_free_mb": "STXM_MIN_FREE_MB",
    "broker_url": "STXM_BROKER_URL",
}


def load_config(
    environ: Mapping[str, str], *, required: Iterable[str] = (), **arguments: object
) -> StxmConfig:
    """The configuration from ``arguments``, ``environ`` and the TOML file it may name.

    ``arguments`` are a command's options by key (``data_dir=args.data_dir``); ``None``
    means not given.  A key in ``required`` must come from one of them, not a default.
    """
    values: dict[str, object] = {}
    path = environ.get("STXM_CONFIG")
    if path:
        try:
            with open(path, "rb") as handle:
                table = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"STXM_CONFIG={path}: {error}") from error
        unknown = set(table) - set(VARIABLES)
        if unknown:
            raise ConfigError(
                f"{path}: unknown key(s) {sorted(unknown)}; known: {sorted(VARIABLES)}"
            )
        values.update({key: str(value) for key, value in table.items()})
    values.update({key: environ[var] for key, var in VARIABLES.items() if environ.get(var)})
    unknown = set(arguments) - set(VARIABLES)
    if unknown:
        raise TypeError(f"load_config: unknown argument(s) {sorted(unknown)}")
    values.update({key: value for key, value in arguments.items() if value is not None})
    missing = [key for key in required if key not in values]
    if missing:
        raise ConfigError(
            "not configured: " + ", ".join(f"{key} (set {VARIABLES[key]})" for key in missing)
        )
    return StxmConfig(**values)
