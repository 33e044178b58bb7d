"""A failing cleanup never replaces the error that stopped the plan."""

from __future__ import annotations

import pytest
from bluesky import RunEngine
from bluesky import plan_stubs as bps

from plans.acquisition import cleanup_after


def failing(error: Exception):
    yield from bps.null()
    raise error


def test_the_first_error_is_raised_and_the_cleanup_error_is_a_note():
    cleaned = []

    def cleanup():
        cleaned.append(True)
        yield from failing(RuntimeError("ring_current is not connected"))

    with pytest.raises(ValueError, match="the counter died") as raised:
        RunEngine({})(cleanup_after(failing(ValueError("the counter died")), cleanup))
    assert cleaned == [True]
    assert any("ring_current is not connected" in note for note in raised.value.__notes__)


def test_a_cleanup_error_after_success_is_raised():
    def plan():
        yield from bps.null()

    with pytest.raises(RuntimeError, match="could not restore"):
        RunEngine({})(cleanup_after(plan(), lambda: failing(RuntimeError("could not restore"))))
