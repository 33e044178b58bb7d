"""``TIFF1:``, an NDFileTIFF plugin: one TIFF file per frame, as ADCore writes them (tifffile).

NDFileTIFF holds one array per file, so every mode (Single, Capture, Stream) writes a
file per frame, each named by FileTemplate with the next FileNumber — what ophyd's
``FileStoreTIFF`` (spec AD_TIFF) expects.  A file is written whole, under a temporary
name, then renamed, so a reader never sees half a frame.
"""

from __future__ import annotations

import os
from pathlib import Path

import tifffile

from .hdf5_writer import Frame, WriteError, os_reason
from .nd_file import FilePlugin


class TiffFile:
    """One frame's TIFF file: ``append`` writes it, ``close`` reports the frame count."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.frames = 0

    def append(self, frame: Frame) -> None:
        if self.frames:
            raise WriteError(f"{self.path} holds one frame (TIFF)")
        partial = self.path.with_name(f".{self.path.name}.part")
        try:
            tifffile.imwrite(partial, frame.data, metadata=None)
            os.replace(partial, self.path)
        except (OSError, ValueError) as error:
            if partial.exists():
                partial.unlink()
            raise WriteError(f"Error writing file {self.path}: {os_reason(error)}") from error
        self.frames = 1

    def flush(self) -> None:
        """Nothing is buffered: a TIFF file is written whole."""

    def close(self) -> int:
        return self.frames


class TIFFPlugin(FilePlugin):
    """NDFileTIFF (``TIFF1:``)."""

    template = "NDFileTIFF.template"
    plugin_class = "NDFileTIFF"
    multiple_arrays = False

    def __init__(self, prefix: str, **kwargs) -> None:
        super().__init__(prefix, **kwargs)
        self._initial["FileTemplate"] = "%s%s_%3.3d.tif"

    def open_file(self, path: Path, first: Frame, stacked: bool) -> TiffFile:
        return TiffFile(path)
