"""PNG quick-looks of NXstxm files: what a scientist checks first, from the file alone.

An image shows the sample; a stack its mean image and the spectrum of its most
absorbing pixel; a focus scan the focus map with the sharpest line marked; a point
spectrum its optical density; a scan with area-detector frames one frame (log scale).
Reads only the file (and what it links), so it works on any NXstxm file.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401 - registers the compression filters linked frames may use
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _text(value) -> str:
    value = np.asarray(value).ravel()[0] if np.ndim(value) else value
    return value.decode() if isinstance(value, bytes) else str(value)


def _default_nxdata(h5: h5py.File) -> h5py.Group:
    entry = h5[_text(h5.attrs.get("default", next(iter(h5))))]
    return entry[_text(entry.attrs["default"])]


def _axes(nxdata: h5py.Group) -> list[str]:
    return [_text(a) for a in np.atleast_1d(nxdata.attrs["axes"])]


def _optical_density(counts: np.ndarray, axis_of_pixels: tuple[int, ...]) -> np.ndarray:
    """OD against the brightest pixels of each energy (the beam through empty space)."""
    incident = np.nanpercentile(counts, 98, axis=axis_of_pixels, keepdims=True)
    return -np.log(np.clip(counts, 1, None) / incident)


def _image(ax, data, nxdata, title):
    x, y = nxdata["sample_x"][()], nxdata["sample_y"][()]
    shown = ax.imshow(
        data, origin="lower", cmap="gray", aspect="equal", extent=(x[0], x[-1], y[0], y[-1])
    )
    ax.set_xlabel("sample x (µm)")
    ax.set_ylabel("sample y (µm)")
    ax.set_title(title)
    return shown


def _stack(fig, nxdata, data):
    energies = nxdata["energy"][()]
    od = _optical_density(data, (1, 2))
    contrast = od.max(axis=0) - od.min(axis=0)
    iy, ix = np.unravel_index(np.nanargmax(contrast), contrast.shape)
    window = od[:, max(iy - 1, 0) : iy + 2, max(ix - 1, 0) : ix + 2]
    left, right = fig.subplots(1, 2)
    _image(left, np.nanmean(data, axis=0), nxdata, "mean image")
    left.plot(nxdata["sample_x"][ix], nxdata["sample_y"][iy], "r+", markersize=14)
    right.plot(energies, np.nanmean(window, axis=(1, 2)), "o-")
    right.set_xlabel("energy (eV)")
    right.set_ylabel("optical density")
    right.set_title("spectrum at + (most absorbing particle)")


def _focus(fig, nxdata, data):
    outer = nxdata[_axes(nxdata)[0]][()]
    position = nxdata["line_position"][()]
    gradient = np.abs(np.diff(data, axis=1)) / np.maximum(np.diff(position), 1e-9)
    best = int(np.nanargmax(np.nanmax(gradient, axis=1)))
    ax = fig.subplots()
    ax.imshow(
        data,
        origin="lower",
        aspect="auto",
        cmap="gray",
        extent=(position[0], position[-1], outer[0], outer[-1]),
    )
    ax.axhline(outer[best], color="r", label=f"sharpest: {outer[best]:.2f} µm")
    ax.set_xlabel("position along the line (µm)")
    ax.set_ylabel(f"{_axes(nxdata)[0]} (µm)")
    ax.legend(loc="upper right")
    ax.set_title("focus map")


def _spectra(fig, h5):
    ax = fig.subplots()
    for name, entry in h5.items():
        if not isinstance(entry, h5py.Group) or "default" not in entry.attrs:
            continue
        nxdata = entry[_text(entry.attrs["default"])]
        counts = np.asarray(nxdata["data"][()], dtype=float).reshape(nxdata["energy"].shape[0], -1)
        od = -np.log(np.clip(counts, 1, None) / np.nanmax(counts, axis=0))
        ax.plot(nxdata["energy"][()], od, "o-", label=name)
    ax.set_xlabel("energy (eV)")
    ax.set_ylabel("OD relative to the brightest energy")
    ax.legend()
    ax.set_title("point spectra")


def _frame(fig, h5) -> bool:
    """One area-detector frame, if the file links any; False if it has none."""
    for entry in h5.values():
        instrument = entry.get("instrument") if isinstance(entry, h5py.Group) else None
        for detector in (instrument or {}).values():
            data = detector.get("data") if isinstance(detector, h5py.Group) else None
            if data is not None and data.ndim >= 3 and data.shape[-1] > 16:
                frame = np.asarray(data[(0,) * (data.ndim - 2)], dtype=float)
                ax = fig.subplots()
                shown = ax.imshow(np.log10(frame + 1), cmap="viridis", origin="lower")
                fig.colorbar(shown, ax=ax, label="log10(counts + 1)")
                ax.set_title(f"{detector.name}: first diffraction frame")
                return True
    return False


def quicklook(nxs: str | Path, png: str | Path | None = None) -> Path:
    """Render ``nxs`` to ``png`` (default: beside it) and return the PNG's path."""
    nxs = Path(nxs)
    png = Path(png) if png else nxs.with_suffix(".png")
    fig = plt.figure(figsize=(10, 4.5), dpi=100)
    with h5py.File(nxs, "r") as h5:
        nxdata = _default_nxdata(h5)
        kind = _text(nxdata["stxm_scan_type"][()])
        data = np.asarray(nxdata["data"][()], dtype=float)
        title = f"{nxs.name}: {kind} {tuple(data.shape)}"
        if _frame(fig, h5):
            pass
        elif kind.endswith("stack"):
            _stack(fig, nxdata, data)
        elif "focus" in kind:
            _focus(fig, nxdata, data)
        elif "point spectrum" in kind:
            _spectra(fig, h5)
        elif data.ndim == 2:
            fig.colorbar(_image(fig.subplots(), data, nxdata, kind), label="counts")
        else:
            ax = fig.subplots()
            ax.plot(data.ravel())
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png)
    plt.close(fig)
    return png
