"""Simulated STXM IOCs (caproto) and the physics model they share.

One module per IOC (``stage``, ``osa``, ``zoneplate``, ``energy``, ``counter``), the
motor-record simulation they use, ``sim`` that hosts them all in one process, and
``physics`` — the pure-numpy model of the microscope.
"""
