"""``make_beamline``: every device of a STXM under one prefix, built then connected.

Code as configuration: the sub-prefixes of ``iocs.prefixes`` (the map the sim serves),
one small factory per device in dependency order, connection at the end with one error
naming every device that failed.  A real beamline passes its own prefix and overrides a
subsystem's prefix or a whole device by keyword:
``make_beamline("BL10ID1:", stage="SMTR1610-3-I12:")``; ``beamline_for(config)`` builds
it from a site configuration (``stxm_devices.config``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields

from ophyd import EpicsSignalRO
from ophyd.ophydobj import OphydObject

from iocs.prefixes import DEFAULT_PREFIX, SUBSYSTEM_PREFIXES, subsystem_prefix

from .config import StxmConfig
from .counter import PointCounter
from .detector import DEFAULT_WRITE_PATH, AreaDetector
from .energy import Epu, FocusedEnergy
from .osa import Osa
from .reconnect import watch_restarts
from .stage import Goniometer, SampleStage
from .zoneplate import ZonePlate


class BeamlineConnectionError(ConnectionError):
    """Some devices did not connect; the message names each one and its PVs."""


@dataclass
class Beamline:
    """Every device of the STXM, by name."""

    stage: SampleStage
    goniometer: Goniometer
    osa: Osa
    zoneplate: ZonePlate
    energy: FocusedEnergy
    epu: Epu
    ring_current: EpicsSignalRO
    counter: PointCounter
    detector: AreaDetector

    def devices(self) -> dict[str, OphydObject]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def connect(self, timeout: float = 10.0) -> None:
        """Wait for every device; raise once, naming each that failed and why.

        Also starts the watcher that searches a restarted IOC's channels afresh
        (``stxm_devices.reconnect``), so the same devices scan again at once.
        """
        watch_restarts()
        devices = self.devices()
        deadline = time.monotonic() + timeout
        # Watch the devices' own state first: a libca wait begun on a channel the watcher
        # then renews (its IOC restarted) would go on waiting on the old channel.
        while not all(device.connected for device in devices.values()):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        failures = []
        for name, device in devices.items():
            try:
                device.wait_for_connection(timeout=max(deadline - time.monotonic(), 1.0))
            except Exception as error:  # noqa: BLE001 - collected and re-raised below
                failures.append(f"  {name}: {error}")
        if failures:
            raise BeamlineConnectionError(
                "these devices did not connect (is the IOC running, is EPICS_CA_ADDR_LIST "
                "right?):\n" + "\n".join(failures)
            )


def make_beamline(
    prefix: str = DEFAULT_PREFIX,
    *,
    detector_write_path: str | None = None,
    detector_read_path: str | None = None,
    connect: bool = True,
    timeout: float = 10.0,
    **overrides: str | OphydObject,
) -> Beamline:
    """Build (and by default connect) the beamline's devices.

    ``detector_write_path`` is where the area-detector IOC writes its files (a strftime
    template, as the IOC sees the disk); ``detector_read_path`` where this machine
    reads them, if it sees the disk under another path.

    ``overrides`` maps a subsystem (stage, osa, zoneplate, energy, counter, detector) to
    its full prefix, or a device name (stage, goniometer, osa, ..., detector) to a ready
    device (e.g. an ``AreaDetector`` with the write/read path templates of the site).
    """
    known = set(SUBSYSTEM_PREFIXES) | {f.name for f in fields(Beamline)}
    unknown = set(overrides) - known
    if unknown:
        raise TypeError(
            f"make_beamline: unknown override(s) {sorted(unknown)}; known: {sorted(known)}"
        )
    prefixes = {
        name: override
        if isinstance(override := overrides.get(name), str)
        else subsystem_prefix(name, prefix)
        for name in SUBSYSTEM_PREFIXES
    }

    def device(name: str, build):
        given = overrides.get(name)
        return given if isinstance(given, OphydObject) else build()

    beamline = Beamline(
        stage=device("stage", lambda: SampleStage(prefixes["stage"], name="stage")),
        goniometer=device("goniometer", lambda: Goniometer(prefixes["stage"], name="goniometer")),
        osa=device("osa", lambda: Osa(prefixes["osa"], name="osa")),
        zoneplate=device("zoneplate", lambda: ZonePlate(prefixes["zoneplate"], name="zoneplate")),
        energy=device(
            "energy",
            lambda: FocusedEnergy(
                name="energy",
                energy_prefix=prefixes["energy"],
                zoneplate_prefix=prefixes["zoneplate"],
            ),
        ),
        epu=device("epu", lambda: Epu(prefixes["energy"], name="epu")),
        ring_current=device(
            "ring_current",
            lambda: EpicsSignalRO(
                prefixes["energy"] + "RingCurrent", name="ring_current", auto_monitor=True
            ),
        ),
        counter=device("counter", lambda: PointCounter(prefixes["counter"], name="counter0")),
        detector=device(
            "detector",
            lambda: AreaDetector(
                prefixes["detector"],
                name="det1",
                write_path_template=detector_write_path or DEFAULT_WRITE_PATH,
                read_path_template=detector_read_path,
            ),
        ),
    )
    if connect:
        beamline.connect(timeout)
    return beamline


def beamline_for(config: StxmConfig, *, connect: bool = True, timeout: float = 10.0) -> Beamline:
    """``make_beamline`` at the configuration's prefix, its detector at its paths."""
    return make_beamline(
        config.prefix,
        detector_write_path=config.detector_write_path,
        detector_read_path=config.detector_read_path,
        connect=connect,
        timeout=timeout,
    )
