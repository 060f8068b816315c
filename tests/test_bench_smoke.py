"""`python -m bench.run --quick` runs srpc and the floor end to end (no timing assertions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_bench_prints_the_table_and_writes_json(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--quick",
            "--contestants",
            "srpc,floor",
            "--results-dir",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output

    lines = result.stdout.splitlines()
    assert any(line.startswith("Medians over 1 pass") for line in lines), output
    assert any(line.startswith("contestant") and "W1 calls/s" in line for line in lines), output
    rows = {line.split()[0] for line in lines if line.split()}
    assert {"srpc", "floor"} <= rows, output
    assert any("Ratio to the floor" in line for line in lines), output

    files = list(tmp_path.glob("bench-quick-*.json"))
    assert len(files) == 1, output
    report = json.loads(files[0].read_text())
    assert report["options"]["quick"] is True
    for name in ("srpc", "floor"):
        w1 = report["passes"][0]["results"][name]["W1"]
        assert "error" not in w1, w1
        assert w1["calls"] > 0
        assert report["medians"][name]["W1"] > 0
    assert report["ratios"]["floor"]["W1"] == pytest.approx(1.0)


def _bench_run(args: list[str], pythonpath: list[str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), *pythonpath]))
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("side", ["srpc-client", "srpc-server", "floor-client", "floor-server"])
def test_icount_sides_make_real_calls(side: str, tmp_path: Path) -> None:
    # The instruction-count harness (valgrind is not needed for this): every side's call must
    # answer add(1, 2) == 3 through its real code path, or the counts would measure nothing.
    from bench.gen import SRPC_SERVICE_DIR, generate_srpc

    generate_srpc(tmp_path)
    result = _bench_run(
        ["bench.icount", "--child", side, "50"], [str(tmp_path), str(SRPC_SERVICE_DIR)]
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_w4parts_prints_each_piece_for_both() -> None:
    result = _bench_run(["bench.w4parts", "--number", "3"], [])
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for piece in ("implementation builds", "encode the reply", "decode the result", "total"):
        row = next(line for line in lines if piece in line)
        srpc_us, floor_us = (float(x) for x in row.split()[-2:])
        assert srpc_us > 0 and floor_us > 0, row


@pytest.mark.slow
def test_interleaved_slices_measure_every_contestant(tmp_path: Path) -> None:
    result = _bench_run(
        [
            "bench.run", "--contestants", "srpc,floor", "--workloads", "W1", "--passes", "1",
            "--duration", "0.2", "--warmup", "0.05", "--slices", "2",
            "--results-dir", str(tmp_path),
        ],
        [],
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    (report_file,) = tmp_path.glob("bench-*.json")
    report = json.loads(report_file.read_text())
    for name in ("srpc", "floor"):
        w1 = report["passes"][0]["results"][name]["W1"]
        assert w1["slices"] == 2 and w1["calls"] > 0, w1
        assert len(w1["window_rates"]) == 2  # one rate per slice
    assert report["ratios"]["floor"]["W1"] == pytest.approx(1.0)
