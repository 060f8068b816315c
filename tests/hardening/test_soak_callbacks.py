"""A short callback soak (~3 s, 2,000 callbacks/s asked): every callback matched to its call."""

from __future__ import annotations

from .soak_callbacks import soak_callbacks


def test_short_callback_soak_loses_and_crosses_nothing() -> None:
    report = soak_callbacks(seconds=3, rate=2000, threads=3)
    print(report.text())
    stats = report.stats
    assert stats.calls > 100 and stats.callbacks > 2_000 and stats.nested > 0
    assert stats.raised > 0 and stats.cancelled > 0
    assert stats.crossed == 0, stats.problems
    assert stats.lost == 0, stats.problems
    assert report.fds_after <= report.fds_before
