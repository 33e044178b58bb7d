"""PNG quick-looks of NXstxm files: what a scientist checks first, from the file alone.

An image shows the sample; a stack its mean image and the spectrum of its most
absorbing pixel; a focus scan the focus map with the focus found by an edge fit
(:func:`focus_from_edges`) and the edge width against zone-plate Z; a point spectrum
its optical density; a scan with area-detector frames the summed diffraction (log
scale) and a transmission map from each frame's total. Reads only the file (and what
it links), so it works on any NXstxm file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401 - registers the compression filters linked frames may use
import numpy as np
from matplotlib.figure import Figure  # not pyplot: no backend chosen, the session's kept
from scipy.optimize import curve_fit
from scipy.special import erfc


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


def _edges(centres: np.ndarray) -> tuple[float, float]:
    """The outer pixel edges of evenly spaced pixel centres (imshow's extent)."""
    half = (centres[-1] - centres[0]) / (2 * (centres.size - 1)) if centres.size > 1 else 0.5
    return float(centres[0] - half), float(centres[-1] + half)


def _image(ax, data, nxdata, title):
    x, y = nxdata["sample_x"][()], nxdata["sample_y"][()]
    shown = ax.imshow(
        data, origin="lower", cmap="gray", aspect="equal", extent=(*_edges(x), *_edges(y))
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


def _edge(x, low, high, x0, sigma):
    return low + (high - low) * 0.5 * erfc((x - x0) / (np.sqrt(2.0) * sigma))


def edge_width(position: np.ndarray, counts: np.ndarray) -> tuple[float, float]:
    """σ of an erfc edge fitted to one line of counts (Poisson-weighted), and its error.

    NaN, NaN when the line has too few points or the fit fails.
    """
    keep = np.isfinite(counts)
    x, c = np.asarray(position, float)[keep], np.asarray(counts, float)[keep]
    if x.size < 6:
        return np.nan, np.nan
    n = max(x.size // 8, 2)
    first, last = float(np.mean(c[:n])), float(np.mean(c[-n:]))
    smooth = np.convolve(c, np.ones(5) / 5, mode="same")[2:-2]
    x0 = x[2 + int(np.argmin(np.abs(smooth - (first + last) / 2)))]
    span = float(abs(x[-1] - x[0]))
    step = span / (x.size - 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit, cov = curve_fit(
                _edge,
                x,
                c,
                p0=(last, first, x0, 4 * step),
                sigma=np.sqrt(np.maximum(c, 1.0)),
                absolute_sigma=True,
                bounds=([-np.inf, -np.inf, x.min(), step / 10], [np.inf, np.inf, x.max(), span]),
            )
    except (RuntimeError, ValueError):
        return np.nan, np.nan
    return float(fit[3]), float(np.sqrt(cov[3, 3]))


def focus_from_edges(
    z: np.ndarray, position: np.ndarray, data: np.ndarray
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """(z of focus, its 1σ uncertainty, edge σ per row, their errors) of a focus scan.

    Each row's edge width σ comes from an erfc fit; σ² = σ0² + NA²·(z − z0)² is a
    parabola in z, fitted with the rows' errors as weights, so the focus z0 rests on
    every row rather than on the single largest (noisy) gradient.
    """
    widths = np.array([edge_width(position, row) for row in data]).reshape(-1, 2)
    sigma, error = widths[:, 0], widths[:, 1]
    keep = np.isfinite(sigma) & np.isfinite(error) & (error > 0)
    if keep.sum() < 4:
        raise ValueError(f"only {int(keep.sum())} of {len(z)} lines show an edge to fit")
    zs, variance, weight = z[keep], sigma[keep] ** 2, 1.0 / (2.0 * sigma[keep] * error[keep])
    (a, b, _), cov = np.polyfit(zs, variance, 2, w=weight, cov="unscaled")
    if a <= 0:
        raise ValueError("the edge width does not grow away from a focus within the scan")
    z0 = -b / (2.0 * a)
    gradient = np.array([b / (2.0 * a**2), -1.0 / (2.0 * a), 0.0])
    return float(z0), float(np.sqrt(gradient @ cov @ gradient)), sigma, error


def _focus(fig, nxdata, data):
    outer = nxdata[_axes(nxdata)[0]][()]
    position = nxdata["line_position"][()]
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    left.imshow(
        data,
        origin="lower",
        aspect="auto",
        cmap="gray",
        extent=(*_edges(position), *_edges(outer)),
    )
    left.set_xlabel("position along the line (µm)")
    left.set_ylabel(f"{_axes(nxdata)[0]} (µm)")
    left.set_title("focus map")
    try:
        z0, error, sigma, sigma_error = focus_from_edges(outer, position, data)
    except ValueError as err:
        right.text(0.5, 0.5, f"no focus found:\n{err}", ha="center", va="center", wrap=True)
        right.set_axis_off()
        return
    label = f"focus {z0:.2f} ± {error:.2f} µm (edge fit)"
    left.axhline(z0, color="r", label=label)
    left.axhspan(z0 - error, z0 + error, color="r", alpha=0.25)
    left.legend(loc="upper right")
    right.errorbar(outer, sigma * 1e3, yerr=sigma_error * 1e3, fmt="o", markersize=3)
    right.axvline(z0, color="r")
    right.set_ylim(0, np.nanpercentile(sigma * 1e3, 95) * 1.2)
    right.set_xlabel(f"{_axes(nxdata)[0]} (µm)")
    right.set_ylabel("edge width σ (nm)")
    right.set_title("edge width per line")


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


def _frames_dataset(h5: h5py.File) -> h5py.Dataset | None:
    for entry in h5.values():
        instrument = entry.get("instrument") if isinstance(entry, h5py.Group) else None
        for detector in (instrument or {}).values():
            data = detector.get("data") if isinstance(detector, h5py.Group) else None
            if data is not None and data.ndim >= 3 and data.shape[-1] > 16:
                return data
    return None


def _frames(fig, h5, nxdata) -> bool:
    """Summed diffraction and a transmission map of frame totals; False if no frames."""
    data = _frames_dataset(h5)
    if data is None:
        return False
    total = np.zeros(data.shape[-2:])
    totals = []
    for k in range(data.shape[0]):  # one point at a time: a scan's frames may not fit memory
        frames = np.asarray(data[k], dtype=float).reshape(-1, *data.shape[-2:])
        total += frames.sum(axis=0)
        totals.append(frames.sum())
    left, right = fig.subplots(1, 2)
    shown = left.imshow(np.log10(total + 1), cmap="viridis", origin="lower")
    fig.colorbar(shown, ax=left, label="log10(counts + 1)")
    left.set_title(f"summed diffraction of {data.shape[0]} points")
    left.set_xlabel("detector column")
    left.set_ylabel("detector row")
    transmission = np.array(totals) / max(totals)
    grid = nxdata["data"].shape
    if len(grid) == 2 and transmission.size == grid[0] * grid[1]:
        image = _image(right, transmission.reshape(grid), nxdata, "transmission (frame totals)")
        fig.colorbar(image, ax=right, label="total / brightest total")
    elif nxdata["sample_x"].size == nxdata["sample_y"].size == transmission.size:
        x, y = nxdata["sample_x"][()], nxdata["sample_y"][()]
        try:  # a list of points (a spiral): shaded between them, each marked
            shown = right.tripcolor(x, y, transmission, shading="gouraud", cmap="gray")
            right.plot(x, y, ".", color="tab:red", markersize=2)
        except (RuntimeError, ValueError):  # too few points, or all on a line
            shown = right.scatter(x, y, c=transmission, cmap="gray", s=30)
        fig.colorbar(shown, ax=right, label="total / brightest total")
        right.set_aspect("equal")
        right.set_xlabel("sample x (µm)")
        right.set_ylabel("sample y (µm)")
        right.set_title("transmission (frame totals)")
    else:  # frames of a stack or a line: the totals in acquisition order
        right.plot(transmission, ".-")
        right.set_xlabel("frame (acquisition order)")
        right.set_ylabel("total / brightest total")
        right.set_title("transmission (frame totals)")
    return True


def quicklook(nxs: str | Path, png: str | Path | None = None) -> Path:
    """Render ``nxs`` to ``png`` (default: beside it) and return the PNG's path."""
    nxs = Path(nxs)
    png = Path(png) if png else nxs.with_suffix(".png")
    fig = Figure(figsize=(11, 4.8), dpi=100)
    with h5py.File(nxs, "r") as h5:
        nxdata = _default_nxdata(h5)
        kind = _text(nxdata["stxm_scan_type"][()])
        data = np.asarray(nxdata["data"][()], dtype=float)
        title = f"{nxs.name}: {kind} {tuple(data.shape)}"
        if _frames(fig, h5, nxdata):
            pass
        elif kind.endswith("stack"):
            _stack(fig, nxdata, data)
        elif "focus" in kind:
            _focus(fig, nxdata, data)
        elif "point spectrum" in kind:
            _spectra(fig, h5)
        elif data.ndim == 2:
            fig.set_size_inches(6.4, 5.6)  # one square image: a square-ish figure
            fig.colorbar(_image(fig.subplots(), data, nxdata, kind), label="counts")
        else:
            ax = fig.subplots()
            ax.plot(data.ravel())
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(png)
    return png
