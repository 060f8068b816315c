"""Issue 11's attacks in their quick form, each against a real server process.

Rows whose defence is still missing (``rows.py``: ``needs``) are
``xfail(strict=True)``: they must fail today, and the day their defence
lands they pass and the mark has to go. The full form is ``make attack``.
"""

from __future__ import annotations

import pytest

from .rows import ROWS
from .runner import RSS_LIMIT, Row, RowResult, format_table, run_row


def _param(row: Row) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=f"needs {row.needs}")] if row.needs else []
    return pytest.param(row, id=row.name, marks=marks)


@pytest.mark.parametrize("row", [_param(row) for row in ROWS])
def test_no_client_takes_the_server_from_the_others(
    row: Row, request: pytest.FixtureRequest
) -> None:
    pki = request.getfixturevalue("pki") if row.tls else None
    result = run_row(row, full=False, pki=pki)
    assert not result.failed(), format_table([row], [result])


def test_a_failing_row_is_reported() -> None:
    good = RowResult("x", probes=10, peak_rss=100, alive=True, sigterm=0.5)
    assert good.failed() == []
    for bad in (RowResult("x", probes=10, failures=1, peak_rss=100, alive=True, sigterm=0.5),
                RowResult("x", probes=10, worst=1.2, peak_rss=100, alive=True, sigterm=0.5),
                RowResult("x", probes=10, peak_rss=RSS_LIMIT, alive=True, sigterm=0.5),
                RowResult("x", probes=10, peak_rss=100, alive=False, sigterm=None),
                RowResult("x", probes=10, peak_rss=100, alive=True, sigterm=6.5),
                RowResult("x", probes=10, peak_rss=100, alive=True, sigterm=0.5,
                          problems=["3 calls never answered"]),
                RowResult("x", probes=0, peak_rss=100, alive=True, sigterm=0.5)):
        assert bad.failed()
        assert "FAIL" in format_table([ROWS[0]], [bad])


def test_generated_stubs_are_current() -> None:
    from srpc.compiler import generate

    from .stubs import SVC

    stale = generate(SVC / "target" / "target_interface.py").stale(SVC)
    assert not stale, f"regenerate {stale}: see tests/hardening/attack/stubs.py"
