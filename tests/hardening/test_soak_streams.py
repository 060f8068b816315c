"""A short stream soak (~5 s): every item matched to its own stream, in order."""

from __future__ import annotations

from .soak_streams import soak_streams


def test_short_stream_soak_loses_and_crosses_no_item() -> None:
    report = soak_streams(seconds=3, threads=4)
    print(report.text())
    stats = report.stats
    assert stats.streams > 100 and stats.items > 10_000 and stats.cancelled > 0
    assert stats.crossed == 0, stats.problems
    assert stats.lost == 0, stats.problems
    assert report.fds_after <= report.fds_before
