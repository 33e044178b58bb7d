"""Write the model to HDF5: one function per NX class, and :func:`write_model` calling them.

Field forms follow what the readers need: ``definition`` as a 1-element variable-length
string array (MANTiS reads ``definition[0]``, pynxtools takes it as one string),
``stxm_scan_type`` as a 1-element byte-string array and NXdata ``@axes`` as fixed-length
byte strings (MANTiS), ``@signal`` and an ``@default`` chain (HyperSpy/rosettasciio).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import h5py
import numpy as np

from .links import write_frames
from .model import Detector, Entry, FrameSet, NXdataGroup, Quantity, ScanModel
from .ptyd import given_geometry

CREATOR = "nxstxm"


def _bytes_array(*values: str) -> np.ndarray:
    return np.array([value.encode() for value in values])


def _group(parent: h5py.Group, name: str, nx_class: str) -> h5py.Group:
    group = parent.create_group(name)
    group.attrs["NX_class"] = nx_class
    return group


def _field(group: h5py.Group, name: str, value, units: str | None = None) -> h5py.Dataset:
    dataset = group.create_dataset(name, data=value)
    if units:
        dataset.attrs["units"] = units
    return dataset


def _quantities(group: h5py.Group, values: dict[str, Quantity]) -> None:
    for name, (value, units) in values.items():
        _field(group, name, value, units or None)


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).astimezone().isoformat()


#: Name endings NeXus reserves for a field's companions (``x_offset`` belongs to ``x``).
RESERVED_SUFFIXES = (
    "_end",
    "_errors",
    "_increment_set",
    "_indices",
    "_mask",
    "_offset",
    "_scaling_factor",
    "_set",
    "_weights",
)


def nx_name(key: str, taken: set[str]) -> str:
    """A valid NeXus name for a data key (``PCT1402-01:mA:fbk_val`` → ``PCT1402_01_mA_fbk_val``).

    A name ending in a reserved suffix gets ``_value`` appended (``epu_offset`` →
    ``epu_offset_value``), so no reader takes it for a companion of another field.
    """
    name = re.sub(r"\W", "_", key)
    name = name if re.match(r"[A-Za-z_]", name) else f"_{name}"
    name = f"{name}_value" if name.endswith(RESERVED_SUFFIXES) else name
    unique, n = name, 1
    while unique in taken:
        unique, n = f"{name}_{n}", n + 1
    taken.add(unique)
    return unique


def write_source(instrument: h5py.Group, entry: Entry) -> None:
    """NXsource: type, name, probe (required by NXstxm)."""
    group = _group(instrument, "source", "NXsource")
    for key, value in entry.source.items():
        _field(group, key, value)


def write_monochromator(instrument: h5py.Group, entry: Entry) -> None:
    """NXmonochromator/energy [nP]: the photon energy at every scan point."""
    _field(_group(instrument, "monochromator", "NXmonochromator"), "energy", entry.energy, "eV")


def write_detector(
    instrument: h5py.Group,
    detector: Detector,
    directory: Path,
    geometry: tuple[float, float] | None = None,
) -> None:
    """NXdetector/data [nP, ...]: values, or area-detector frames linked from the IOC's files.

    ``geometry`` (pixel size, distance in m) of the frames, when the scan states it.
    """
    group = _group(instrument, detector.name, "NXdetector")
    if isinstance(detector.data, FrameSet):
        write_frames(group, "data", detector.data, directory)
        if geometry is not None:
            pixel_m, distance_m = geometry
            _field(group, "distance", distance_m, "m")
            _field(group, "x_pixel_size", pixel_m, "m")
            _field(group, "y_pixel_size", pixel_m, "m")
    else:
        _field(group, "data", detector.data, detector.units)
    if detector.source:
        group.attrs["data_key"] = detector.source


def write_zone_plate(instrument: h5py.Group, entry: Entry) -> None:
    """NXfresnel_zone_plate from the metadata's zp_def."""
    if entry.zone_plate:
        _quantities(_group(instrument, "zone_plate", "NXfresnel_zone_plate"), entry.zone_plate)


def write_osa(instrument: h5py.Group, entry: Entry) -> None:
    """NXaperture for the order-sorting aperture and its requested position."""
    if entry.osa:
        group = _group(instrument, "osa", "NXaperture")
        _field(group, "description", "order sorting aperture")
        _quantities(group, entry.osa)


def write_epu(instrument: h5py.Group, entry: Entry) -> None:
    """NXinsertion_device for the EPU; its setting (mode, offset, angle) in an NXcollection.

    NXinsertion_device has no polarization, offset or angle fields, so the setting pyStxm
    records goes into ``epu/setting`` rather than being passed off as undulator fields.
    """
    if entry.epu:
        group = _group(instrument, "epu", "NXinsertion_device")
        _field(group, "type", "undulator")
        _quantities(_group(group, "setting", "NXcollection"), entry.epu)


def write_instrument(nxentry: h5py.Group, entry: Entry, directory: Path) -> None:
    """NXinstrument: source, monochromator, detectors (incl. sample_x/y), optics."""
    instrument = _group(nxentry, "instrument", "NXinstrument")
    write_source(instrument, entry)
    write_monochromator(instrument, entry)
    geometry = given_geometry(entry)
    for detector in entry.detectors:
        write_detector(instrument, detector, directory, geometry)
    write_zone_plate(instrument, entry)
    write_osa(instrument, entry)
    write_epu(instrument, entry)


def write_sample(nxentry: h5py.Group, entry: Entry) -> None:
    """NXsample/rotation_angle."""
    _field(_group(nxentry, "sample", "NXsample"), "rotation_angle", entry.rotation_angle, "degrees")


def write_data(nxentry: h5py.Group, nxdata: NXdataGroup, label: str) -> None:
    """NXdata: stxm_scan_type, data (@signal), axes with units and indices, count_time."""
    group = _group(nxentry, nxdata.name, "NXdata")
    group.attrs["signal"] = "data"
    group.attrs["axes"] = _bytes_array(*nxdata.axes)
    _field(group, "stxm_scan_type", _bytes_array(label))
    _field(group, "data", nxdata.data, nxdata.units)
    for axis in nxdata.coordinates:
        dataset = _field(group, axis.name, axis.values, axis.units)
        if axis.long_name:
            dataset.attrs["long_name"] = axis.long_name
        if axis.dims:
            group.attrs[f"{axis.name}_indices"] = np.array(axis.dims, dtype=np.int32)
    _field(group, "count_time", nxdata.count_time, "s")


#: A point spectrum's NXdata axes: (nE, 1, 1), as MANTiS reads spectra.
POINT_AXES = ("energy", "sample_y", "sample_x")


def write_spectrum(nxentry: h5py.Group, nxdata: NXdataGroup, label: str) -> str | None:
    """A 1-D NXdata ``<detector>_spectrum`` (energy only) of a point spectrum; its name.

    Beside the (nE, 1, 1) NXdata MANTiS reads (the first NXdata by name, which this one
    never is), so silx and HyperSpy following ``@default`` show a spectrum, not a stack
    of 1×1 images. It keeps the point's sample_x/sample_y and count_time as NXstxm asks.
    None for any other layout.
    """
    if nxdata.axes != POINT_AXES or nxdata.data.shape[1:] != (1, 1):
        return None
    name = f"{nxdata.name}_spectrum"
    group = _group(nxentry, name, "NXdata")
    group.attrs["signal"] = "data"
    group.attrs["axes"] = _bytes_array("energy")
    group.attrs["energy_indices"] = np.array([0], dtype=np.int32)
    _field(group, "stxm_scan_type", _bytes_array(label))
    _field(group, "data", nxdata.data[:, 0, 0], nxdata.units)
    for axis in nxdata.coordinates:
        _field(group, axis.name, axis.values, axis.units)
    _field(group, "count_time", nxdata.count_time, "s")
    return name


def write_monitor(nxentry: h5py.Group, entry: Entry) -> None:
    """NXmonitor ``control``: the ring current, same shape as the NXdata data."""
    group = _group(nxentry, "control", "NXmonitor")
    _field(group, "data", entry.monitor, "mA")
    _field(group, "description", "storage ring current, to normalise for flux variations")


def write_collection(nxentry: h5py.Group, name: str, values: dict) -> None:
    """NXcollection of named values (keys made valid NeXus names, originals kept)."""
    group = _group(nxentry, name, "NXcollection")
    taken: set[str] = set()
    for key, value in sorted(values.items()):
        dataset = _field(group, nx_name(key, taken), value)
        dataset.attrs["key"] = key


def write_status(nxentry: h5py.Group, entry: Entry) -> None:
    """NXnote ``status``: ``complete``, or ``incomplete`` and why (aborted run, missing images)."""
    group = _group(nxentry, "status", "NXnote")
    _field(group, "type", "text/plain")
    _field(group, "data", np.bytes_(b"complete" if entry.complete else b"incomplete"))
    _field(group, "description", "; ".join(entry.incomplete) or "all requested points acquired")


def write_entry(h5: h5py.File, entry: Entry, directory: Path) -> None:
    """One NXentry following the NXstxm application definition."""
    nxentry = _group(h5, entry.name, "NXentry")
    nxentry.attrs["default"] = entry.default
    _field(nxentry, "definition", np.array(["NXstxm"], dtype=h5py.string_dtype()))
    _field(nxentry, "title", entry.title)
    _field(nxentry, "start_time", _iso(entry.start_time))
    if entry.end_time is not None:
        _field(nxentry, "end_time", _iso(entry.end_time))
    write_instrument(nxentry, entry, directory)
    write_sample(nxentry, entry)
    for nxdata in entry.nxdata:
        write_data(nxentry, nxdata, entry.stxm_scan_type)
    spectra = [write_spectrum(nxentry, nxdata, entry.stxm_scan_type) for nxdata in entry.nxdata]
    if spectra and spectra[0]:
        nxentry.attrs["default"] = spectra[0]
    write_monitor(nxentry, entry)
    write_collection(nxentry, "baseline", entry.baseline)
    write_collection(nxentry, "scan_request", {**entry.scan_request, "run_uids": entry.run_uids})
    write_status(nxentry, entry)


def write_model(model: ScanModel, path: Path, directory: Path | None = None) -> None:
    """Write every entry to a new HDF5 file; link paths are relative to ``directory``.

    ``directory`` is where the file will finally live (default: ``path``'s folder).
    """
    with h5py.File(path, "w-") as h5:
        h5.attrs["NX_class"] = "NXroot"
        h5.attrs["default"] = model.default
        h5.attrs["creator"] = CREATOR
        h5.attrs["file_time"] = datetime.now().astimezone().isoformat()
        h5.attrs["HDF5_Version"] = h5py.version.hdf5_version
        h5.attrs["h5py_version"] = h5py.version.version
        for entry in model.entries:
            write_entry(h5, entry, directory or path.parent)
