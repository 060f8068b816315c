"""N1-N3 (bench/over_nats.py): wired into `make bench`, rendered, and run at tiny sizes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_the_nats_workloads_are_in_make_bench_but_not_per_contestant() -> None:
    from bench.over_nats import NATS_WORKLOADS, missing
    from bench.run import ALL_WORKLOADS, parse_args

    assert set(NATS_WORKLOADS) == {"N1", "N2", "N3"} <= set(ALL_WORKLOADS)
    assert parse_args([]).workloads == list(ALL_WORKLOADS)
    assert parse_args(["--workloads", "n1,N3"]).workloads == ["N1", "N3"]
    assert missing() is None  # `make install` brings nats-py and nats-server


def test_targets_and_the_table_from_a_report() -> None:
    from bench.over_nats import nats_targets, render_nats

    out = {
        "N1": {
            "payload": {"request_bytes": 40, "reply_bytes": 16},
            "passes": [{}],
            "calls_per_s": {"srpc": 2900.0, "srpc-async": 3300.0, "nats-py": 3000.0},
            "p50_us": {"srpc": 300.0, "srpc-async": 280.0, "nats-py": 310.0},
            "ratio": {"srpc": 0.97, "srpc-async": 1.1},
        },
        "N2": {
            "rounds": 50_000,
            "callers": 8,
            "calls_per_s": {"1": 400.0, "2": 700.0, "4": 720.0},
            "ratio_to_1": {"1": 1.0, "2": 1.75, "4": 1.8},
        },
        "N3": {
            "clients": 8, "calls": 3000, "lost": 2, "lost_errors": ["ConnectionLost"],
            "in_flight_at_kill": 8, "lost_after_kill": 0, "lost_only_in_flight": True,
            "recovery_s": 0.8, "calls_per_s_before": 700.0, "calls_per_s_after": 650.0,
        },
    }  # fmt: skip
    out["targets"] = nats_targets(out)
    states = {t["target"]: t["met"] for t in out["targets"]}
    assert states == {"N1": True, "N1async": True, "N2": True, "N3recovery": True, "N3lost": True}
    text = render_nats(out)
    assert "N1 over NATS" in text and "0.97x" in text and "1.75x" in text
    assert "lost 2 of 3,000 calls (ConnectionLost" in text and "0.800 s" in text
    out["N3"]["recovery_s"] = 1.5
    assert {t["target"]: t["met"] for t in nats_targets(out)}["N3recovery"] is False
    assert render_nats({"skipped": "no nats"}) == "note: skipped N1-N3: no nats"


def test_nats_py_baseline_answers_with_padded_payloads() -> None:
    # the baseline's two roles, without srpc: a nats-py service and a nats-py client
    from bench.over_nats import _Procs, nats_server

    env = dict(os.environ, PYTHONPATH=str(REPO))
    with nats_server() as url:
        procs = _Procs(env, REPO)
        try:
            procs.start("serve-natspy", url, "--reply-bytes", "30").expect("BENCH_READY", 30)
            client = procs.start(
                "n1-client", "nats-py", url, "--duration", "0.1", "--warmup", "0.01",
                "--request-bytes", "50",
            )  # fmt: skip
            result = json.loads(client.expect("BENCH_RESULT", 60))
        finally:
            procs.close()
    assert result["calls"] > 0 and result["request_bytes"] == 50


@pytest.mark.slow
def test_n1_to_n3_run_at_tiny_sizes(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable, "-m", "bench.over_nats", "run", "--passes", "1",
            "--duration", "0.2", "--warmup", "0.05", "--n2-duration", "0.5",
            "--n2-instances", "1,2", "--n3-before", "0.5", "--n3-after", "1.0",
            "--results-dir", str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "N1 over NATS" in done.stdout and "N2 over NATS" in done.stdout
    assert "N3 over NATS" in done.stdout and "NATS targets" in done.stdout
    (report,) = tmp_path.glob("bench-nats-*.json")
    assert report.stat().st_size > 0
