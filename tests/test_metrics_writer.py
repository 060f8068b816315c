"""MetricsWriter: the documented line format, events, flushing, rotation, and off."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from srpc.metrics import MetricsWriter

CALL_FIELDS = [
    "ts",
    "service",
    "proc",
    "ok",
    "latency_ms",
    "error",
    "peer",
    "req_bytes",
    "resp_bytes",
    "pid",
    "instance",
]


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def calls_in(lines: list[dict[str, Any]]) -> int:
    """Calls described by call lines and summary lines."""
    return sum(1 if "ok" in line else line.get("calls", 0) for line in lines)


def test_call_lines_have_exactly_the_documented_fields(tmp_path: Path) -> None:
    log = tmp_path / "m.log"
    w = MetricsWriter(log, service="calc")
    before = time.time()
    w.start(address="127.0.0.1:5000", pid=123)
    w.record("add", True, 0.0521234567, None, "127.0.0.1:50312", 21, 12)
    w.record("div", False, 1.5, "ZeroDivisionError", "127.0.0.1:50313", 22, 80)
    w.close(calls=2)
    after = time.time()
    lines = read_lines(log)
    assert [line.get("event") for line in lines] == ["start", None, None, "stop"]
    start, ok, failed, stop = lines
    assert start["service"] == "calc" and start["address"] == "127.0.0.1:5000"
    assert start["pid"] == os.getpid()  # the writer's own process, whatever the caller says
    assert stop["calls"] == 2
    assert list(ok) == CALL_FIELDS
    assert list(failed) == CALL_FIELDS
    assert ok == {
        "ts": ok["ts"],
        "service": "calc",
        "proc": "add",
        "ok": True,
        "latency_ms": 0.052123,
        "error": None,
        "peer": "127.0.0.1:50312",
        "req_bytes": 21,
        "resp_bytes": 12,
        "pid": os.getpid(),
        "instance": w.instance,
    }
    assert failed["ok"] is False and failed["error"] == "ZeroDivisionError"
    for line in lines:
        assert isinstance(line["ts"], float)
        assert before <= line["ts"] <= after


def test_appends_to_an_existing_log(tmp_path: Path) -> None:
    log = tmp_path / "m.log"
    log.write_text('{"old": 1}\n')
    w = MetricsWriter(log, service="calc")
    w.start()
    w.close()
    lines = read_lines(log)
    assert lines[0] == {"old": 1}
    assert [line["event"] for line in lines[1:]] == ["start", "stop"]


def test_flushed_within_the_interval_without_close(tmp_path: Path) -> None:
    log = tmp_path / "m.log"
    w = MetricsWriter(log, service="calc", flush_interval=0.2)
    w.start()
    try:
        w.record("add", True, 0.1, None, "p", 1, 1)
        assert len(read_lines(log)) == 1  # record() itself never writes
        deadline = time.monotonic() + 1.2
        while time.monotonic() < deadline and len(read_lines(log)) < 2:
            time.sleep(0.02)
        assert len(read_lines(log)) == 2
    finally:
        w.close()


@pytest.mark.parametrize("summarize_above", [None, 0.0])
def test_record_does_no_io(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, summarize_above: float | None
) -> None:
    import threading

    log = tmp_path / "m.log"
    w = MetricsWriter(log, service="calc", flush_interval=0.05, summarize_above=summarize_above)
    w.start()
    caller = threading.get_ident()
    real_write = os.write
    io_threads: set[int] = set()

    def watching_write(fd: int, data: Any) -> int:
        io_threads.add(threading.get_ident())
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", watching_write)
    for _ in range(1000):
        w.record("add", True, 0.1, None, "p", 1, 1)
    time.sleep(0.3)
    monkeypatch.undo()
    assert io_threads and caller not in io_threads  # only the flusher wrote the log
    w.close()
    assert calls_in(read_lines(log)) == 1000


def test_rotation_by_size(tmp_path: Path) -> None:
    log = tmp_path / "m.log"
    w = MetricsWriter(log, service="calc", max_bytes=2000, backups=2)
    w.start()
    n = 0
    for _ in range(10):
        for _ in range(10):
            w.record("add", True, 0.1, None, "127.0.0.1:1", 1, 1)
            n += 1
        w.flush()
    w.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["m.log", "m.log.1", "m.log.2"]
    for name in files:
        assert (tmp_path / name).stat().st_size <= 2000
    # the newest lines are in m.log, the oldest kept in m.log.2; every line is whole
    newest = read_lines(log)
    oldest = read_lines(tmp_path / "m.log.2")
    assert newest[-1]["event"] == "stop"
    assert oldest[0]["ts"] <= read_lines(tmp_path / "m.log.1")[0]["ts"] <= newest[0]["ts"]


def test_rotation_without_backups_truncates(tmp_path: Path) -> None:
    log = tmp_path / "m.log"
    w = MetricsWriter(log, service="calc", max_bytes=500, backups=0)
    w.start()
    for _ in range(20):
        w.record("add", True, 0.1, None, "p", 1, 1)
        w.flush()
    w.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.log"]
    assert log.stat().st_size <= 500


def test_none_turns_it_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    w = MetricsWriter(None, service="calc")
    w.start()
    w.record("add", True, 0.1, None, "p", 1, 1)
    w.close()
    assert list(tmp_path.iterdir()) == []


def test_unwritable_path_is_a_clear_error_at_start(tmp_path: Path) -> None:
    w = MetricsWriter(tmp_path / "no" / "such" / "dir" / "m.log", service="calc")
    with pytest.raises(OSError, match=r"cannot write the metrics log .*m\.log"):
        w.start()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_directory_is_a_clear_error(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match="metrics_log=None"):
            MetricsWriter(tmp_path / "m.log", service="calc").start()
    finally:
        tmp_path.chmod(0o700)


def test_write_failure_later_does_not_raise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "d"
    d.mkdir()
    w = MetricsWriter(d / "m.log", service="calc")
    w.start()
    (d / "m.log").unlink()
    d.rmdir()
    w.record("add", True, 0.1, None, "p", 1, 1)
    w.close()
    assert w.dropped == 2  # the call and the stop event
    assert "cannot write the metrics log" in capsys.readouterr().err


def test_close_is_idempotent_and_stops_the_thread(tmp_path: Path) -> None:
    w = MetricsWriter(tmp_path / "m.log", service="calc")
    w.start()
    w.close()
    w.close()
    assert [line["event"] for line in read_lines(tmp_path / "m.log")] == ["start", "stop"]


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ValueError):
        MetricsWriter("x", service="s", flush_interval=2.0)
    with pytest.raises(ValueError):
        MetricsWriter("x", service="s", max_bytes=0)


def test_every_line_names_its_server(tmp_path: Path) -> None:
    log = tmp_path / "m.log"
    w = MetricsWriter(log, service="calc", summarize_above=None)
    assert len(w.instance) == 12 and int(w.instance, 16) >= 0
    assert MetricsWriter(None, service="calc").instance != w.instance
    w.start()
    w.record("add", True, 0.1, None, "p", 1, 1)
    w.close()
    lines = read_lines(log)
    assert len(lines) == 3
    assert {(line["pid"], line["instance"]) for line in lines} == {(os.getpid(), w.instance)}


def summarized_log(tmp_path: Path, records: list[tuple[Any, ...]], name: str) -> Path:
    log = tmp_path / name
    w = MetricsWriter(log, service="calc", summarize_above=0)
    w.start()
    for rec in records:
        w.record(*rec)
    w.close()
    return log


def test_summary_lines_hold_the_counts_errors_and_histogram(tmp_path: Path) -> None:
    from srpc.metrics import latency_bucket

    records: list[tuple[Any, ...]] = [
        ("add", True, 0.05 + i * 1e-4, None, f"p{i % 3}", 20, 10) for i in range(300)
    ]
    records += [("div", False, 2.0, "ZeroDivisionError", "p0", 21, 80)] * 4
    records += [("div", False, 3.0, None, "p0", 21, 80)]
    records += [("div", True, 0.5, None, "p1", 21, 12)] * 5
    log = summarized_log(tmp_path, records, "m.log")
    lines = read_lines(log)
    summaries = [line for line in lines if "calls" in line]
    assert lines[0]["event"] == "start" and lines[-1]["event"] == "stop"
    assert len(summaries) == len(lines) - 2
    assert all("ok" not in s and "latency_ms" not in s for s in summaries)
    by_proc: dict[str, dict[str, Any]] = {}
    for s in summaries:
        assert int(s["first_ts"]) == int(s["ts"])  # one whole second each
        agg = by_proc.setdefault(s["proc"], {"calls": 0, "failed": 0, "errors": {}, "hist": {}})
        agg["calls"] += s["calls"]
        agg["failed"] += s["failed"]
        for k, v in s.get("errors", {}).items():
            agg["errors"][k] = agg["errors"].get(k, 0) + v
        for k, v in s["hist"].items():
            agg["hist"][int(k)] = agg["hist"].get(int(k), 0) + v
        assert sum(s["hist"].values()) == s["calls"]
        assert s["pid"] == os.getpid() and s["service"] == "calc"
    assert by_proc["add"]["calls"] == 300 and by_proc["add"]["failed"] == 0
    assert by_proc["div"]["calls"] == 10 and by_proc["div"]["failed"] == 5
    assert by_proc["div"]["errors"] == {"ZeroDivisionError": 4, "error": 1}
    expected: dict[int, int] = {}
    for _, _, lat, *_ in records[:300]:
        b = latency_bucket((lat * 1e6 + 0.5) // 1 / 1e6)
        expected[b] = expected.get(b, 0) + 1
    assert by_proc["add"]["hist"] == expected
    add = [s for s in summaries if s["proc"] == "add"]
    assert min(s["latency_min_ms"] for s in add) == pytest.approx(0.05)
    assert max(s["latency_max_ms"] for s in add) == pytest.approx(0.05 + 299e-4)
    assert sum(s["req_bytes"] for s in add) == 300 * 20


def test_a_fast_batch_is_summarized_and_a_slow_one_is_not(tmp_path: Path) -> None:
    log = tmp_path / "m.log"
    w = MetricsWriter(log, service="calc", summarize_above=500.0, flush_interval=0.5)
    w.start()
    for _ in range(10):  # 10 calls in one flush interval: 20 calls/s at most
        w.record("add", True, 0.1, None, "p", 1, 1)
    w.flush()
    for _ in range(5000):  # 5000 calls at once: far beyond 500 calls/s
        w.record("add", True, 0.1, None, "p", 1, 1)
    w.flush()
    w.close()
    lines = read_lines(log)
    call_lines = [line for line in lines if "ok" in line]
    summaries = [line for line in lines if "calls" in line]
    assert len(call_lines) == 10
    assert sum(s["calls"] for s in summaries) == 5000 and len(summaries) <= 2
    assert w.summarized_batches == 1


def test_bad_summarize_setting_is_rejected() -> None:
    with pytest.raises(ValueError):
        MetricsWriter("x", service="s", summarize_above=-1.0)
    with pytest.raises(ValueError):
        MetricsWriter("x", service="s", summarize_above=float("nan"))


def test_an_idle_writer_logs_alive_events(tmp_path: Path) -> None:
    log = tmp_path / "m.log"
    w = MetricsWriter(log, service="calc", flush_interval=0.05, heartbeat=0.2)
    w.start()
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and len(read_lines(log)) < 3:
        time.sleep(0.05)
    w.close()
    events = [line["event"] for line in read_lines(log)]
    assert events[0] == "start" and events[-1] == "stop"
    assert events.count("alive") >= 2
    assert {line["instance"] for line in read_lines(log)} == {w.instance}
