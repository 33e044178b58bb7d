"""Energy (the energy IOC): the EPU, the ring current, and an energy that keeps focus."""

from __future__ import annotations

import enum

from ophyd import Component as Cpt
from ophyd import Device, EpicsSignalRO, Signal
from ophyd import FormattedComponent as FCpt
from ophyd.pseudopos import (
    PseudoPositioner,
    PseudoSingle,
    pseudo_position_argument,
    real_position_argument,
)

from .channel_access import GuardedSignal
from .motor import StxmMotor


class Polarization(enum.StrEnum):
    """The EPU's polarization modes (the Polarization PV's enum strings)."""

    CIRC_LEFT = "CircLeft"
    CIRC_RIGHT = "CircRight"
    LINEAR_HORIZONTAL = "LinearHorizontal"
    LINEAR_VERTICAL = "LinearVertical"
    LINEAR_INCLINED = "LinearInclined"


class Epu(Device):
    """Elliptically polarizing undulator: mode, offset (eV), linear angle (deg)."""

    polarization = Cpt(GuardedSignal, "Polarization", string=True, kind="normal")
    offset = Cpt(GuardedSignal, "Offset", kind="normal")
    angle = Cpt(GuardedSignal, "Angle", kind="normal")


class FocusedEnergy(PseudoPositioner):
    """Photon energy (eV) that moves the monochromator and keeps the sample in focus.

    Moving to E sets the mono to E and zone-plate Z to A1·E + ``focus_offset`` (µm).
    The OSA stays where it is: its Z is in the sample frame, so its distance to the
    sample is unchanged by an energy move.

    Attributes
    ----------
    energy : the pseudo axis, eV (NXstxm monochromator/energy)
    mono : monochromator energy motor, eV
    zone_plate_z : zone-plate Z motor, µm
    a1 : the installed zone plate's A1, µm/eV
    focus_offset : calibrated zone-plate Z offset from A1·E, µm
    """

    energy = Cpt(PseudoSingle, egu="eV", kind="hinted")
    mono = FCpt(StxmMotor, "{self._energy_prefix}Energy", kind="normal")
    zone_plate_z = FCpt(StxmMotor, "{self._zoneplate_prefix}Z", kind="normal")
    a1 = FCpt(EpicsSignalRO, "{self._zoneplate_prefix}A1_RBV", kind="config")
    focus_offset = Cpt(Signal, value=0.0, kind="config")

    def __init__(
        self,
        prefix: str = "",
        name: str = "",
        *,
        energy_prefix: str,
        zoneplate_prefix: str,
        **kwargs,
    ) -> None:
        self._energy_prefix = energy_prefix
        self._zoneplate_prefix = zoneplate_prefix
        super().__init__(prefix, name=name, **kwargs)

    def focus_z(self, energy_ev: float) -> float:
        """Zone-plate Z in focus at ``energy_ev``."""
        return float(self.a1.get()) * energy_ev + float(self.focus_offset.get())

    @pseudo_position_argument
    def forward(self, pseudo_pos):
        return self.RealPosition(
            mono=pseudo_pos.energy, zone_plate_z=self.focus_z(pseudo_pos.energy)
        )

    @real_position_argument
    def inverse(self, real_pos):
        return self.PseudoPosition(energy=real_pos.mono)
