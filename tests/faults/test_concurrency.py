"""Four processes assembling ten scans each into one directory: all distinct, all complete.

Every scan of the same day competes for the same names (``C231114<nnn>``): journals
reserve them with O_EXCL, temporary files are per process, publishing never overwrites.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import pytest

from stxm_devices.testing import wait_until

pytestmark = pytest.mark.faults

PROCESSES, SCANS = 4, 10
FACTORY = Path(__file__).resolve().parents[1] / "unit" / "assembler"
WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    sys.path.insert(0, sys.argv[1])
    from factory import image_scan, stack_scan
    from nxstxm import NXstxmAssembler

    data_dir, go = sys.argv[2], sys.argv[3]
    scans = [
        stack_scan([700.0, 701.0], group_uid=f"{os.getpid()}-{k}") if k % 2 else image_scan()
        for k in range(int(sys.argv[4]))
    ]
    open(f"{go}.{os.getpid()}", "w").close()  # ready
    while not os.path.exists(go):  # every worker starts at once
        time.sleep(0.001)
    assembler = NXstxmAssembler(data_dir)
    for documents in scans:
        for name, doc in documents:
            assembler(name, doc)
    print(json.dumps({"written": [str(p) for p in assembler.written],
                      "errors": [str(e) for e in assembler.errors]}))
    """
)


def test_four_processes_ten_scans_one_directory(tmp_path):
    data_dir, go = tmp_path / "data", tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(FACTORY), str(data_dir), str(go), str(SCANS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    try:
        ready = lambda: len(list(tmp_path.glob("go.*"))) == PROCESSES  # noqa: E731
        assert wait_until(ready, timeout=60)
        go.touch()
        results = [worker.communicate(timeout=120) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(10)
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in results]
    assert [report["errors"] for report in reports] == [[]] * PROCESSES, results
    written = [Path(path) for report in reports for path in report["written"]]
    assert len(written) == len(set(written)) == PROCESSES * SCANS
    assert sorted(data_dir.glob("*.nxs")) == sorted(written)
    journals = sorted(data_dir.glob("*.jsonl"))
    assert [j.stem for j in journals] == sorted(p.stem for p in written)  # one each, same stem
    assert not list(data_dir.glob(".*.tmp"))
    runs_seen: set[str] = set()
    for path in written:
        journal_runs = {
            json.loads(line)[1]["uid"]
            for line in path.with_suffix(".jsonl").read_text().splitlines()
            if line.startswith('["start"')
        }
        with h5py.File(path) as h5:
            assert h5["entry0/status/data"].asstr()[()] == "complete"
            runs = {uid.decode() for uid in h5["entry0/scan_request/run_uids"][()]}
        assert runs == journal_runs  # the file holds exactly the scan its journal holds
        assert not runs & runs_seen
        runs_seen |= runs
