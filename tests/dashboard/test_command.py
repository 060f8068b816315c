"""The ``metrics`` command through typer's CliRunner, plus one real ``srpc-metrics`` process."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from srpc.dashboard.command import metrics

from .helpers import append, call_line, event_line, metrics_command

T0 = 1_763_900_000.0

runner = CliRunner()


def _app() -> tuple[typer.Typer, list[str]]:
    """``srpc metrics`` once srpc.cli imports; a one-command app around ``metrics`` until then."""
    try:
        from srpc.cli import app
    except ImportError:  # pragma: no cover - srpc.compiler.command still being written
        local = typer.Typer(add_completion=False, rich_markup_mode=None)
        local.command(context_settings={"help_option_names": ["-h", "--help"]})(metrics)
        return local, []
    return app, ["metrics"]


def invoke(*args: str) -> tuple[int, str, str]:
    app, prefix = _app()
    result = runner.invoke(app, [*prefix, *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def sample_log(log: Path) -> Path:
    append(
        log,
        event_line("start", ts=T0),
        *[call_line("add", ts=T0 + i * 0.1, latency_ms=0.04 + i * 1e-4) for i in range(40)],
        *[call_line("div", ts=T0 + 5, ok=False, error="ZeroDivisionError")] * 2,
        call_line("div", ts=T0 + 6),
        "not json",
        event_line("stop", ts=T0 + 10),
    )
    return log


def test_once_prints_a_plain_table(sample_log: Path) -> None:
    code, out, _ = invoke(str(sample_log), "--once")
    assert code == 0
    assert "calls 43" in out and "failed 2" in out
    rows = {
        line.split()[0]: line.split()
        for line in out.splitlines()
        if line.split()[:1] in (["add"], ["div"])
    }
    assert rows["add"][1:4] == ["40", "40", "0"]
    assert rows["div"][1:4] == ["3", "1", "2"]
    assert rows["div"][-1] == "ZeroDivisionError"
    assert "malformed lines 1" in out
    assert "\x1b[" not in out  # no colour codes when not a terminal


def test_no_terminal_and_no_flag_behaves_like_once(sample_log: Path) -> None:
    assert invoke(str(sample_log)) == invoke(str(sample_log), "--once")


def test_json_snapshot(sample_log: Path) -> None:
    code, out, _ = invoke(str(sample_log), "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["calls"], data["ok"], data["failed"], data["malformed"]) == (43, 41, 2, 1)
    procs = {p["name"]: p for p in data["procs"]}
    assert procs["add"]["calls"] == 40 and procs["div"]["failed"] == 2
    assert procs["div"]["last_error"] == "ZeroDivisionError"
    assert data["uptime_s"] == 10.0
    assert data["service"] == "calc"
    assert data["log"] == str(sample_log)
    assert procs["add"]["max_ms"] == pytest.approx(0.04 + 39e-4)


def test_missing_log_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.log"
    for flag in ("--once", "--json"):
        code, out, err = invoke(str(missing), flag)
        assert code == 1
        assert "no metrics log at" in err and "nope.log" in err
        assert out == ""


def test_directory_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = invoke(str(tmp_path), "--once")
    assert code == 1 and "is a directory" in err


def test_help_shows_an_example() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    assert "Example" in out
    assert "srpc-metrics srpc_server_metrics.log --once" in out
    assert "--once" in out and "--json" in out and "--refresh" in out


def test_refresh_out_of_range_is_a_usage_error(sample_log: Path) -> None:
    code, _, _ = invoke(str(sample_log), "--refresh", "0")
    assert code == 2


def test_version() -> None:
    code, out, _ = invoke("--version")
    assert code == 0 and out.startswith("srpc ")


def test_real_process_once(sample_log: Path) -> None:
    result = subprocess.run(
        [*metrics_command(), str(sample_log), "--once"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=sample_log.parent,
    )
    assert result.returncode == 0, result.stderr
    assert "add" in result.stdout and "ZeroDivisionError" in result.stdout
    assert "calls 43" in result.stdout


def test_real_process_default_log_missing(tmp_path: Path) -> None:
    result = subprocess.run(
        [*metrics_command(), "--once"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 1
    assert "srpc_server_metrics.log" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read anything")
def test_unreadable_log_is_a_clear_error(sample_log: Path) -> None:
    sample_log.chmod(0)
    try:
        code, _, err = invoke(str(sample_log), "--once")
    finally:
        sample_log.chmod(0o600)
    assert code == 1 and "cannot read" in err


def test_once_counts_the_calls_in_rotated_backups_too(tmp_path: Path) -> None:
    from srpc.metrics import MetricsWriter

    log = tmp_path / "m.log"
    writer = MetricsWriter(log, service="calc", max_bytes=4000, backups=3)
    writer.start()
    for batch in range(12):
        for _ in range(10):
            writer.record("add", batch % 3 != 0, 0.1, None, "127.0.0.1:1", 1, 1)
        writer.flush()
    writer.close()
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("m.log")]
    assert len(kept) == 4  # the log and three backups: some calls were rotated away
    expected = sum(1 for p in kept for line in p.read_text().splitlines() if '"proc"' in line)
    assert 40 < expected < 120
    code, out, _ = invoke(str(log), "--json")
    assert code == 0
    assert json.loads(out)["calls"] == expected
