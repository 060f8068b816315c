"""The dashboard renderables, printed on a fixed-width Console (content, not box characters)."""

from __future__ import annotations

import io

from rich.console import Console, RenderableType

from srpc.dashboard.aggregate import MetricsAggregate, Snapshot
from srpc.dashboard.view import (
    build_dashboard,
    build_plain,
    format_duration,
    format_ms,
    sparkline,
)

from .helpers import call_line, event_line

T0 = 1_763_900_000.0


def render(renderable: RenderableType, width: int = 140) -> str:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None, force_terminal=False).print(renderable)
    return out.getvalue()


def sample_snapshot() -> Snapshot:
    agg = MetricsAggregate()
    lines = [event_line("start", ts=T0)]
    lines += [call_line("add", ts=T0 + i * 0.01, latency_ms=0.05) for i in range(1234)]
    lines += [call_line("div", ts=T0 + 5, ok=False, error="ZeroDivisionError")] * 3
    lines += [call_line("div", ts=T0 + 6, latency_ms=2.5)] * 7
    lines += ["garbage"]
    agg.feed(("\n".join(lines) + "\n").encode())
    return agg.snapshot(T0 + 12.5)


def test_dashboard_shows_one_row_per_procedure_with_counts() -> None:
    text = render(build_dashboard(sample_snapshot(), "srpc_server_metrics.log"))
    rows = {
        line.split()[1]: line for line in text.splitlines() if " add " in line or " div " in line
    }
    assert "1,234" in rows["add"]
    assert "ZeroDivisionError" in rows["div"]
    assert " 10 " in rows["div"] and " 7 " in rows["div"] and " 3 " in rows["div"]
    assert "30.0" in rows["div"]  # error %
    assert "0.050" in rows["add"]  # p50 ms


def test_dashboard_header_has_totals_uptime_rate_and_malformed() -> None:
    text = render(build_dashboard(sample_snapshot(), "srpc_server_metrics.log"))
    assert "service calc" in text
    assert "calls 1,244" in text
    assert "failed 3 (0.2%)" in text
    assert "uptime 12.5s" in text
    assert "malformed lines 1" in text
    assert "srpc_server_metrics.log" in text
    assert "calls/s over the last 60s" in text
    assert "q quit" in text


def test_dashboard_waiting_for_the_log() -> None:
    text = render(build_dashboard(MetricsAggregate().snapshot(T0), "x.log", waiting=True))
    assert "waiting for the log" in text
    assert "no calls yet" in text


def test_plain_snapshot_fits_100_columns_with_names_and_counts() -> None:
    text = render(build_plain(sample_snapshot(), "m.log"), width=100)
    assert "add" in text and "div" in text and "1,234" in text
    assert max(len(line) for line in text.splitlines()) <= 100


def test_sparkline_scales_to_the_largest_value() -> None:
    assert sparkline([0, 1, 2, 4, 8]) == " ▁▂▄█"
    assert sparkline([0, 0]) == "  "
    assert sparkline([]) == ""
    assert len(sparkline(list(range(60)))) == 60


def test_formats() -> None:
    assert format_ms(None) == "-"
    assert format_ms(0.0523) == "0.052"
    assert format_ms(2.5) == "2.50"
    assert format_ms(12345.6) == "12,346"
    assert format_duration(5.25) == "5.2s"
    assert format_duration(125) == "2m05s"
    assert format_duration(3 * 3600 + 61) == "3h01m01s"


def test_narrow_terminals_keep_numbers_and_errors_whole() -> None:
    for width in (80, 100, 140):
        for renderable in (
            build_dashboard(sample_snapshot(), "m.log"),
            build_plain(sample_snapshot(), "m.log"),
        ):
            text = render(renderable, width=width)
            assert "1,234" in text and "30.0" in text
            assert "ZeroDivisionError" in text, (width, text)
            assert max(len(line) for line in text.splitlines()) <= width
