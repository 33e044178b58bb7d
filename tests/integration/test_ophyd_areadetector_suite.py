"""ophyd's own area-detector tests (``ophyd/tests/test_areadetector.py``) against the sim.

The test bodies are ophyd's, imported from the installed package untouched; only the
fixtures of ophyd's conftest that they use are mapped here: ``ad_prefix`` is the sim's
detector (``SIM:det1:``, which serves ADCore's commonPlugins set, TIFF1 included) and
``cleanup`` destroys the devices a test made (devices made later on the same names
connect afresh: test_destroyed_device.py), and every test runs on both of ophyd's
control layers (pyepics and caproto), as ophyd's ``cl_selector`` does.  ophyd's
``adsim`` marker is registered in pyproject.  Exceptions, each with a real IOC's
reason, would be listed in ``EXCEPTIONS``: there are none.  ophyd itself skips
``test_stubbing`` (no ADCore Db directory) and ``test_default_configuration_attrs``
for plugins without configuration attributes, and marks ``test_many_connect`` and
``test_fshdf_plugin`` xfail (the latter pass here).  The module takes ~4 min: ophyd's
``test_fshdf_plugin`` sleeps 9 s per case.
"""

from __future__ import annotations

import pytest

ophyd_tests = pytest.importorskip("ophyd.tests.test_areadetector")

#: ophyd test name → why it does not run here (a real IOC's behaviour, not a sim gap).
EXCEPTIONS: dict[str, str] = {}

for _name in dir(ophyd_tests):
    if _name.startswith("test_") and _name not in EXCEPTIONS:
        globals()[_name] = getattr(ophyd_tests, _name)
# ophyd's own fixtures that its tests request by name.
data_paths = ophyd_tests.data_paths
h5py = ophyd_tests.h5py
mock_now = ophyd_tests.mock_now


@pytest.fixture(scope="module")
def ad_prefix(sim):
    """The area detector ophyd's tests drive: the sim's det1."""
    return "SIM:det1:"


@pytest.fixture()
def cleanup(request):
    """ophyd's ``cleanup``: destroy every device a test adds, even when it fails."""
    items = []

    class Cleaner:
        def add(self, item):
            items.append(item)

    def clean():
        for item in items:
            item.destroy()
        items.clear()

    request.addfinalizer(clean)
    return Cleaner()


@pytest.fixture(autouse=True, scope="module", params=["pyepics", "caproto"])
def control_layer(request):
    """ophyd's ``cl_selector``: each test on both of ophyd's control layers."""
    import ophyd

    ophyd.set_cl(request.param)
    yield request.param
    ophyd.set_cl()
