"""The IPython startup profile of a STXM beamline: ``from stxm_devices.startup import *``.

Builds, from the site configuration (``stxm_devices.config``: ``STXM_*`` variables or
``STXM_CONFIG`` TOML), the RunEngine with the BestEffortCallback and a progress bar,
the beamline (``make_beamline``), the run catalog ``cat`` (a TiledWriter feeding a local
Tiled catalog, or a server), the NXstxm assembler writing one file per scan into the
data directory, and every plan bound to the beamline — so ``RE(stxm_image(...))``.

Channel Access stays on loopback unless the EPICS_CA_* variables say otherwise
(docs/architecture.md): a real beamline sets EPICS_CA_ADDR_LIST before starting IPython.
"""

import functools
import os
import sys
import threading

from stxm_devices.channel_access import start_repeater, use_loopback_channel_access

use_loopback_channel_access()
start_repeater()  # before the first PV: libca finds a repeater (no caRepeater banner)

from bluesky import RunEngine  # noqa: E402 - after the Channel Access environment
from bluesky import plan_stubs as bps  # noqa: E402
from bluesky import plans as bp  # noqa: E402
from bluesky.callbacks.best_effort import BestEffortCallback  # noqa: E402
from bluesky.utils import ProgressBarManager  # noqa: E402

import plans as _plans  # noqa: E402
from nxstxm import NXstxmAssembler, space_guard  # noqa: E402
from stxm_devices.beamline import beamline_for  # noqa: E402
from stxm_devices.catalog import open_catalog  # noqa: E402
from stxm_devices.config import load_config  # noqa: E402

config = load_config(os.environ)
config.data_dir.mkdir(parents=True, exist_ok=True)
if config.frames_root.is_relative_to(config.data_dir):  # the IOC makes the levels below
    config.frames_root.mkdir(parents=True, exist_ok=True)

beamline = beamline_for(config)

RE = RunEngine({})
# The assembler's write-ahead journal first, then the assembler (which never raises): every
# document is on disk, and every scan written, whatever a later callback does; a scan
# starts only with room for it (STXM_MIN_FREE_MB, default 50).
# At a facility (STXM_BROKER_URL: NATS JetStream, `stxm facility up`) the documents go to
# the durable stream instead, and the assembler service journals and writes them.
if config.broker_url:
    from facility.broker import JetStreamPublisher

    assembler = None
    RE.subscribe(JetStreamPublisher(config.broker_url))
else:
    assembler = NXstxmAssembler(config.data_dir, allow_outside=[config.frames_root])
    RE.subscribe(assembler.journal)
    RE.subscribe(assembler)
RE.preprocessors.append(space_guard(config.data_dir, config.min_free_mb * 1_000_000))
bec = BestEffortCallback()
RE.subscribe(bec)
RE.waiting_hook = ProgressBarManager()

catalog = open_catalog(config.data_dir, uri=config.tiled_uri, api_key=config.tiled_api_key)
cat = catalog.client
if assembler is not None:  # at a facility a consumer of the stream writes the catalog
    RE.subscribe(catalog.writer())


def _end_the_session_scans() -> None:
    """End a run left paused (Ctrl-C in a script) and write every scan, while the session is whole.

    Left to the interpreter's shutdown, the paused plan is closed by the garbage
    collector after the local catalog's server and Channel Access are gone: its cleanup
    fails, and pyarrow (in the catalog writer) aborts the process with SIGABRT. Aborting
    here stops the motors, emits the stop document and writes the scan, marked
    incomplete. Registered like the local catalog's own shutdown (a threading exit
    hook, run before it: last registered, first run), which precedes every atexit hook.
    A multi-run scan (a stack) interrupted between two of its runs has no run to abort:
    the assembler writes what it holds of it, marked incomplete ("3 of 6 runs").
    """
    if RE.state == "paused":
        try:
            RE.abort(reason="the session ended with the run paused")
        except Exception as err:  # at exit: say what failed, never mask the exit
            print(f"aborting the paused run at exit failed: {err!r}", file=sys.stderr)
    if assembler is not None:
        assembler.flush()


threading._register_atexit(_end_the_session_scans)

Region = _plans.Region
for _name, _plan in _plans.PLANS.items():
    globals()[_name] = functools.update_wrapper(functools.partial(_plan, beamline), _plan)

__all__ = [
    "RE",
    "Region",
    "assembler",
    "beamline",
    "bec",
    "bp",
    "bps",
    "cat",
    "catalog",
    "config",
    *_plans.PLANS,
]
