"""A short soak (~8 s): every reply matched to its call, the server settles afterwards.

The long version is ``make soak`` (``python -m tests.hardening.soak --seconds 120``).
"""

from __future__ import annotations

from .soak import soak


def test_short_soak_loses_no_reply_and_leaks_nothing() -> None:
    report = soak(seconds=5, threads=12, processes=2, worker_threads=4)
    print(report.text())
    stats = report.stats
    assert stats.calls > 1000 and stats.faults > 0
    assert stats.ok > 0 and stats.raised_as_expected > 0 and stats.timed_out_as_expected > 0
    assert stats.crossed == 0, stats.problems
    assert stats.lost == 0, stats.problems
    assert report.fds_after == report.fds_before
    assert report.rss_after - report.rss_before < 24 * 1024 * 1024
