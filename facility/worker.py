"""The queue server worker's startup code: the project's startup profile, plans bound.

``start-re-manager --startup-module facility.worker`` runs this in the worker: the
startup profile (``stxm_devices.startup``; with ``STXM_BROKER_URL`` set its RunEngine
publishes documents to JetStream instead of assembling in process), then every plan of
the package as a generator function the queue server lists (``facility.queue``) and
``check_plan`` for argument checks at queue time.
"""

from facility.queue import bound_plans, make_check_plan
from stxm_devices.startup import *  # noqa: F403 - the worker's namespace is the profile's
from stxm_devices.startup import beamline, bec

bec.disable_plots()  # a headless worker: figures nobody sees, redrawn at every point
globals().update(bound_plans(beamline))
check_plan = make_check_plan(beamline)
globals().update(beamline.devices())  # each device by name: the queue server lists them
