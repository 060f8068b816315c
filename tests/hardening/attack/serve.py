"""Serve the ``target`` service with the default limits, the way a user's server runs.

    python -m tests.hardening.attack.serve [--token T] [--tls-cert C --tls-key K]
                                           [--metrics-log PATH] [--grace-period S]

``Server.start()`` in the main thread: SIGTERM is handled by srpc itself and
the process exits when ``start()`` returns, so the suite's SIGTERM-to-exit
time is what a deployed server would show. srpc prints its "serving ... on
host:port" line once listening; the suite reads the port from it.
"""

from __future__ import annotations

import argparse
import sys

from .stubs import SrpcTargetServerStub


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--token", default=None)
    parser.add_argument("--tls-cert", default=None)
    parser.add_argument("--tls-key", default=None)
    parser.add_argument("--metrics-log", default=None)
    parser.add_argument("--grace-period", type=float, default=5.0)
    options = parser.parse_args(argv)
    ssl = None
    if options.tls_cert:
        from srpc.security import server_ssl_context

        ssl = server_ssl_context(options.tls_cert, options.tls_key)
    SrpcTargetServerStub(
        "127.0.0.1", 0, token=options.token, ssl=ssl, metrics_log=options.metrics_log,
        grace_period=options.grace_period,
    ).start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
