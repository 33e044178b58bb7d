"""The STXM beamline as facility services: ``stxm facility up|down|status``.

A composition root like ``stxm_devices.cli``: it starts, wires and stops servers that
ship in wheels (PostgreSQL, Tiled, Redis, the bluesky queue server, NATS JetStream) and
the project's own processes (the sim beamline, the assembler service), all on
127.0.0.1, data and state under one directory (``services.py``). Documents travel from
the queue server's worker to the assembler over JetStream as JSON (``broker.py``,
``consumer.py``); the worker's namespace is the project's startup profile
(``worker.py``), its plans listed for the queue server from ``plans.PLANS``
(``queue.py``).
"""
