"""srpc with every procedure on the server's worker threads (none marked ``@srpc.inline``).

The ``srpc`` contestant's implementation runs ``add`` and ``records`` on the
event loop (``@srpc.inline``); this one shows what the default, a plain
``def`` on a worker thread, costs in the same run. Client: the sync stub.
"""

from __future__ import annotations

from typing import Any

from bench.contestants.srpc_bench import connect

__all__ = ["connect", "start_server"]


class ThreadsServer:
    def __init__(self, metrics_log: str | None) -> None:
        from benchsvc.benchsvc import Benchsvc  # type: ignore[import-not-found, unused-ignore]
        from srpc_benchsvc_server_stub import (  # type: ignore[import-not-found, unused-ignore]
            SrpcBenchsvcServerStub,
        )

        class OnThreads(Benchsvc):  # type: ignore[misc]
            def add(self, a: int, b: int) -> int:
                return a + b

            def records(self, n: int = 100) -> Any:
                return Benchsvc.records(self, n)

            def records_struct(self, n: int = 100) -> Any:
                return Benchsvc.records_struct(self, n)

        self._server: Any = SrpcBenchsvcServerStub(
            host="127.0.0.1", port=0, metrics_log=metrics_log, impl=OnThreads()
        ).start_in_background()
        self.port: int = int(self._server.address[1])

    def stop(self) -> None:
        self._server.stop()


def start_server(metrics_log: str | None) -> ThreadsServer:
    return ThreadsServer(metrics_log)
