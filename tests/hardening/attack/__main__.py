"""``make attack``: every row of issue 11 in its full form; prints the table.

    python -m tests.hardening.attack [--quick] [--rows hash-flood,trickle]

Exits non-zero if any row fails.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from ..certs import OPENSSL, make_test_pki
from .rows import ROWS
from .runner import Row, RowResult, format_table, run_row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="the quick form (as in make test)")
    parser.add_argument("--rows", default="", help="comma-separated row names (default: all)")
    options = parser.parse_args(argv)
    wanted = [r for r in options.rows.split(",") if r]
    rows = [row for row in ROWS if not wanted or row.name in wanted]
    done: list[Row] = []
    results: list[RowResult] = []
    with tempfile.TemporaryDirectory(prefix="srpc-attack-pki-") as tmp:
        pki = make_test_pki(Path(tmp)) if OPENSSL is not None else None
        for row in rows:
            if row.tls and pki is None:
                print(f"{row.name}: skipped (no openssl CLI to make a test CA)", flush=True)
                continue
            print(f"{row.name}: {row.title} ...", flush=True)
            result = run_row(row, full=not options.quick, pki=pki)
            done.append(row)
            results.append(result)
            print(f"  {'pass' if not result.failed() else '; '.join(result.failed())}",
                  flush=True)
    print()
    print(format_table(done, results))
    return 1 if any(r.failed() for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
