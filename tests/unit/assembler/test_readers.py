"""A point spectrum for every reader: a 1-D default for silx/HyperSpy, (nE, 1, 1) for MANTiS."""

from __future__ import annotations

import h5py
import numpy as np
from silx.io.nxdata import get_default

from nxstxm import ScanType, assemble_scan

from .factory import metadata, region, run_documents
from .readers import hyperspy_signals, pynxtools_findings, signal_titled

ENERGIES = [700.0, 705.0, 710.0, 715.0]


def _point_spectra(tmp_path):
    rois = {"0": region(1, 1, ENERGIES), "1": region(1, 1, ENERGIES)}
    md = metadata(ScanType.SAMPLE_POINT_SPECTRA, rois, sp_ids=(0, 1))
    return assemble_scan(run_documents(md, [float(i) for i in range(8)]), tmp_path)


def test_point_spectrum_default_is_1d_and_mantis_still_reads_the_first_nxdata(tmp_path):
    path = _point_spectra(tmp_path)
    with h5py.File(path) as h5:
        for name in ("entry0_sp0", "entry0_sp1"):
            entry = h5[name]
            nxdata = sorted(k for k in entry if entry[k].attrs.get("NX_class") == "NXdata")
            assert nxdata == ["counter0", "counter0_spectrum"]  # MANTiS takes the first
            mantis = entry["counter0"]
            assert entry["definition"][0] == b"NXstxm"
            assert mantis.attrs["axes"].dtype.kind == "S"
            assert [a.decode() for a in mantis.attrs["axes"]] == ["energy", "sample_y", "sample_x"]
            assert mantis["data"].shape == (4, 1, 1)
            spectrum = entry["counter0_spectrum"]
            assert entry.attrs["default"] == "counter0_spectrum"
            np.testing.assert_array_equal(spectrum["data"][()], mantis["data"][:, 0, 0])
            np.testing.assert_array_equal(spectrum["energy"][()], ENERGIES)
        silx = get_default(h5)
        assert silx is not None and silx.is_valid and silx.signal.shape == (4,)
        assert silx.axes_dataset_names == ["energy"]
    assert pynxtools_findings(path)[0] == []


def test_hyperspy_reads_the_point_spectrum_as_a_spectrum_over_energy(tmp_path):
    path = _point_spectra(tmp_path)
    signal = signal_titled(hyperspy_signals(path), "counter0_spectrum")
    assert signal.data.shape == (4,)
    [axis] = signal.axes_manager._axes
    assert axis.name == "energy" and axis.units == "eV"
    np.testing.assert_allclose(axis.axis, ENERGIES)
