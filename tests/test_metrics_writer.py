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
]


def read_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_call_lines_have_exactly_the_documented_fields(tmp_path: Path) -> None:
    log = tmp_path / "m.log"
    w = MetricsWriter(log, service="calc")
    before = time.time()
    w.start(pid=123)
    w.record("add", True, 0.0521234567, None, "127.0.0.1:50312", 21, 12)
    w.record("div", False, 1.5, "ZeroDivisionError", "127.0.0.1:50313", 22, 80)
    w.close(calls=2)
    after = time.time()
    lines = read_lines(log)
    assert [line.get("event") for line in lines] == ["start", None, None, "stop"]
    start, ok, failed, stop = lines
    assert start["service"] == "calc" and start["pid"] == 123
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


def test_record_does_no_io(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins
    import threading

    log = tmp_path / "m.log"
    w = MetricsWriter(log, service="calc", flush_interval=0.05)
    w.start()
    caller = threading.get_ident()
    real_open = builtins.open
    io_threads: set[int] = set()

    def watching_open(*args: Any, **kwargs: Any) -> Any:
        io_threads.add(threading.get_ident())
        return real_open(*args, **kwargs)

    monkeypatch.setattr(builtins, "open", watching_open)
    for _ in range(1000):
        w.record("add", True, 0.1, None, "p", 1, 1)
    time.sleep(0.3)
    monkeypatch.undo()
    assert io_threads and caller not in io_threads  # only the flusher opened the log
    w.close()
    assert len(read_lines(log)) == 1002


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
