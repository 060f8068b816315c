"""The server's log helpers: rate-limited failed calls and handshakes, the exposure warning."""

from __future__ import annotations

import logging
import ssl
import threading
from typing import NoReturn

import pytest

from srpc.server_log import CallFailureLog, HandshakeFailureLog, exposure_warning


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def failing_impl(n: int) -> NoReturn:
    raise ValueError(f"bad value {n}")


def raised(n: int) -> BaseException:
    try:
        failing_impl(n)
    except ValueError as exc:
        return exc
    raise AssertionError("unreachable")


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "srpc.server"]


def test_failed_calls_are_logged_with_traceback_then_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    log = CallFailureLog(per_interval=10, interval=1.0, clock=clock)
    caplog.set_level(logging.ERROR, logger="srpc.server")
    for i in range(1000):
        log.call_failed("div", "127.0.0.1:5555", raised(i))
    lines = messages(caplog)
    assert len(lines) == 10
    assert all(r.levelno == logging.ERROR for r in caplog.records)
    first = lines[0]
    assert first.startswith("call div from 127.0.0.1:5555 failed:")
    assert "Traceback (most recent call last)" in first
    assert "failing_impl" in first and "ValueError: bad value 0" in first
    clock.now += 1.5
    log.call_failed("add", "127.0.0.1:5555", raised(-1))
    lines = messages(caplog)
    assert len(lines) == 12
    assert lines[10] == "990 more failures suppressed in the last 1.5 s (div: ValueError 990)"
    assert "bad value -1" in lines[11]
    assert log.total_suppressed == 990


def test_flush_logs_what_was_held_back(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    log = CallFailureLog(per_interval=1, clock=clock)
    caplog.set_level(logging.ERROR, logger="srpc.server")
    for i in range(5):
        log.call_failed("div", "p", raised(i))
    log.flush()
    log.flush()  # nothing more to say
    lines = messages(caplog)
    assert len(lines) == 2 and lines[1].startswith("4 more failures suppressed")


def test_an_exception_that_cannot_be_printed_is_logged_anyway(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Hostile(Exception):
        def __str__(self) -> str:
            raise KeyboardInterrupt

    caplog.set_level(logging.ERROR, logger="srpc.server")
    log = CallFailureLog()
    try:
        raise Hostile
    except Hostile as exc:
        log.call_failed("add", "p", exc)
    [line] = messages(caplog)
    assert "Hostile" in line and "failing" not in line
    assert "str() failed" in line or "could not be formatted" in line


def test_a_broken_handler_does_not_reach_the_caller() -> None:
    class Broken(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            raise OSError("disk full")

        def handleError(self, record: logging.LogRecord) -> None:
            raise OSError("still full")

    target = logging.getLogger("srpc.test.broken")
    target.addHandler(Broken())
    target.propagate = False
    CallFailureLog(target).call_failed("add", "p", raised(1))
    HandshakeFailureLog(target).handshake_failed("10.0.0.1", "bad token")


def test_failures_from_many_threads_are_all_counted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="srpc.server")
    clock = FakeClock()
    log = CallFailureLog(per_interval=3, clock=clock)

    def run() -> None:
        for i in range(500):
            log.call_failed("div", "p", raised(i))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.flush()
    lines = messages(caplog)
    assert len(lines) == 4
    assert lines[-1].startswith("1,997 more failures suppressed")


def test_failed_handshakes_are_counted_per_peer(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    log = HandshakeFailureLog(per_interval=5, interval=10.0, clock=clock)
    caplog.set_level(logging.WARNING, logger="srpc.server")
    for _ in range(1000):
        log.handshake_failed("10.0.0.5", "wrong token")
    log.handshake_failed("10.0.0.6", "incompatible stub")
    lines = messages(caplog)
    assert lines == [
        "handshake from 10.0.0.5 failed: wrong token",
        "handshake from 10.0.0.6 failed: incompatible stub",
    ]
    clock.now += 11
    log.handshake_failed("10.0.0.5", "wrong token")
    lines = messages(caplog)
    assert lines[2] == ("999 more failed handshakes in the last 11.0 s: 10.0.0.5 999 (wrong token)")
    assert lines[3] == "handshake from 10.0.0.5 failed: wrong token"  # a new interval
    assert log.total == 1002


def test_a_scan_from_many_peers_logs_a_bounded_number_of_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from srpc.server_log import _MAX_PEERS

    clock = FakeClock()
    log = HandshakeFailureLog(per_interval=5, clock=clock)
    caplog.set_level(logging.WARNING, logger="srpc.server")
    for i in range(3 * _MAX_PEERS):
        log.handshake_failed(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", "not srpc")
    assert len(messages(caplog)) == 5
    assert len(log._seen) <= _MAX_PEERS + 1  # memory stays bounded
    log.flush()
    summary = messages(caplog)[-1]
    assert summary.startswith(f"{3 * _MAX_PEERS - 5:,} more failed handshakes")
    assert "(other peers)" in summary and "more peers" in summary


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_no_warning_on_loopback(host: str) -> None:
    assert exposure_warning(host, None, None) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "10.0.0.5", "myhost.example"])
def test_warning_beyond_loopback_without_tls_or_token(host: str) -> None:
    text = exposure_warning(host, None, None)
    assert text is not None
    assert "without TLS or a token" in text and "anyone" in text
    assert "ssl=" in text and "token=" in text and "127.0.0.1" in text
    assert "\n" not in text


def test_warning_for_a_token_in_clear_text_and_none_with_tls() -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    token_only = exposure_warning("0.0.0.0", None, "s3cret")
    assert token_only is not None and "unencrypted" in token_only
    assert "s3cret" not in token_only
    assert exposure_warning("0.0.0.0", context, "s3cret") is None
    assert exposure_warning("0.0.0.0", context, None) is None
    assert exposure_warning("0.0.0.0", None, "") is not None  # an empty token is no token
