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
    sections = [i for i, line in enumerate(lines) if line.startswith(("W4:", "W4s:"))]
    assert len(sections) == 2, result.stdout
    for start, end in zip(sections, [*sections[1:], len(lines)], strict=True):
        section = lines[start:end]
        for piece in ("implementation builds", "encode the reply", "decode the result", "total"):
            row = next(line for line in section if piece in line)
            srpc_us, floor_us = (float(x) for x in row.split()[-2:])
            assert srpc_us > 0 and floor_us > 0, row
        for piece in ("encode alone", "result check alone"):  # srpc's halves; the floor has none
            row = next(line for line in section if piece in line)
            assert float(row.split()[-2]) > 0 and row.split()[-1] == "-", row


def test_only_contestants_with_struct_records_run_w4s() -> None:
    from bench.contestants import CONTESTANTS
    from bench.run import sat_out

    names = list(CONTESTANTS)
    out = sat_out(names, ["W1", "W4", "W4s"])
    assert set(out) == {"grpc for W4s", "pyro5 for W4s", "rpyc for W4s"}, out
    assert all(CONTESTANTS[n].cannot_run("W4") is None for n in names)


@pytest.mark.slow
def test_w4s_runs_in_slices_and_has_its_target(tmp_path: Path) -> None:
    result = _bench_run(
        [
            "bench.run", "--contestants", "srpc,floor", "--workloads", "w4,W4s", "--passes", "1",
            "--duration", "0.2", "--warmup", "0.05", "--slices", "2",
            "--results-dir", str(tmp_path),
        ],
        [],
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    (report_file,) = tmp_path.glob("bench-*.json")
    report = json.loads(report_file.read_text())
    for name in ("srpc", "floor"):
        w4s = report["passes"][0]["results"][name]["W4s"]
        assert w4s["slices"] == 2 and w4s["calls"] > 0, w4s
    assert report["ratios"]["floor"]["W4s"] == pytest.approx(1.0)
    targets = {t["label"]: t for t in report["targets"] if t["contestant"] == "srpc"}
    assert targets["W4 calls/s >= 1.3x floor"]["threshold"] == 1.3
    assert targets["W4s calls/s >= 3x floor"]["measured"] > 0
    assert "W4s calls/s" in result.stdout
    assert any(
        line.startswith("srpc") and "W4s calls/s >= 3x floor" in line
        for line in result.stdout.splitlines()
    ), result.stdout


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


# -- streams: S1-S3 in the driver, and the two stream scripts (tiny sizes, no timing asserts)


def test_only_contestants_that_stream_run_s1_to_s3() -> None:
    from bench.contestants import CONTESTANTS
    from bench.run import ALL_WORKLOADS, TARGETS, sat_out

    assert {"S1", "S2", "S3"} <= set(ALL_WORKLOADS)
    out = sat_out(list(CONTESTANTS), ["S1", "S2", "S3"])
    skipped = {key.split(" for ")[0] for key in out}
    assert skipped == {"pyro5", "rpyc", "srpc-threads"}, out
    assert all(why for why in out.values())
    labels = {key: threshold for key, _, threshold in TARGETS}
    assert labels["S1"] == 0.5 and labels["S1grpc"] == 10.0
    assert labels["S2"] == 0.8 and labels["S3"] == 0.8


@pytest.mark.slow
def test_stream_workloads_run_in_slices_and_have_their_targets(tmp_path: Path) -> None:
    result = _bench_run(
        [
            "bench.run", "--contestants", "srpc,srpc-async,floor", "--workloads", "s1,S2,S3",
            "--passes", "1", "--duration", "0.2", "--warmup", "0.05", "--slices", "2",
            "--s3-mib", "1", "--results-dir", str(tmp_path),
        ],
        [],
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    (report_file,) = tmp_path.glob("bench-*.json")
    report = json.loads(report_file.read_text())
    for name in ("srpc", "srpc-async", "floor"):
        res = report["passes"][0]["results"][name]
        assert res["S1"]["slices"] == 2 and res["S1"]["items_per_s"] > 0, res["S1"]
        assert res["S1"]["items_per_call"] == 1000
        assert res["S2"]["mb_per_s"] > 0 and res["S2"]["bytes_per_call"] == 16 * 65536
        assert res["S3"]["bytes_per_call"] == 2**20 and res["S3"]["bytes_total"] >= 2**20
    assert report["ratios"]["floor"]["S1"] == pytest.approx(1.0)
    targets = {t["label"] for t in report["targets"] if t["contestant"] == "srpc"}
    assert {"S1 items/s >= 0.5x floor", "S2 MB/s >= 0.8x floor", "S3 MB/s >= 0.8x floor"} <= (
        targets
    )
    assert "S1 items/s" in result.stdout and "S3 MB/s" in result.stdout


def test_streams_memory_reports_both_processes() -> None:
    result = _bench_run(
        [
            "bench.streams_memory", "--seconds", "0.6", "--rate", "10", "--every", "0.3",
            "--settle", "0.1", "--size", "1024",
        ],
        [],
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for side in ("client", "server"):
        row = next(line for line in lines if line.startswith(f"{side}: RSS"))
        start = float(row.split("RSS ")[1].split()[0])
        assert start > 5, row  # a real process's RSS in MiB
    end = next(line for line in lines if line.startswith("end "))
    assert int(end.split()[2]) >= 6, end  # items taken at 10/s for 0.6 s
    assert any(line.startswith("items taken:") and "RESULT" in line for line in lines)


def test_cancel_latency_closes_every_generator() -> None:
    result = _bench_run(["bench.cancel_latency", "--cancels", "5", "--pause", "0"], [])
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.strip()}
    for kind in ("sync", "async"):
        assert rows[kind][1] == "5", result.stdout
        p50, p99, worst = (float(x) for x in rows[kind][2:5])
        assert 0 < p50 <= p99 <= worst < 5000, result.stdout  # closed_at waits 5 s at most


def test_a_contestant_whose_package_is_missing_is_skipped_not_crashed() -> None:
    from bench.contestants import Contestant

    ghost = Contestant("ghost", "bench.contestants.floor", ("no_such_pkg.sub",), "missing")
    assert ghost.missing() == ["no_such_pkg.sub"]


def test_w6_echoes_a_numpy_array_in_slices_and_has_its_target(tmp_path: Path) -> None:
    result = _bench_run(
        [
            "bench.run", "--contestants", "srpc,floor,pyro5", "--workloads", "W6", "--passes", "1",
            "--duration", "0.2", "--warmup", "0.05", "--slices", "2",
            "--results-dir", str(tmp_path),
        ],
        [],
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    (report_file,) = tmp_path.glob("bench-*.json")
    report = json.loads(report_file.read_text())
    for name in ("srpc", "floor"):
        w6 = report["passes"][0]["results"][name]["W6"]
        assert w6["slices"] == 2 and w6["mib_per_s"] > 0, w6
    assert "W6" not in report["passes"][0]["results"].get("pyro5", {})  # it sits W6 out
    targets = {t["label"]: t for t in report["targets"] if t["contestant"] == "srpc"}
    assert targets["W6 MiB/s >= 1.0x floor"]["measured"] > 0
