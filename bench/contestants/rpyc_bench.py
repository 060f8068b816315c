"""RPyC with a ThreadedServer. Only immutable builtins cross RPyC by value (brine),
so ``records`` returns nested tuples and the client rebuilds
:class:`bench.common.Record` objects from them; a list would come back as a
proxy whose every access is another round trip.
"""

from __future__ import annotations

import threading
from typing import Any

import rpyc  # type: ignore[import-untyped, import-not-found, unused-ignore]
from rpyc.utils.server import ThreadedServer  # type: ignore[import-untyped, import-not-found, unused-ignore]

from bench.common import Record, record_tuples


class _Service(rpyc.Service):  # type: ignore[misc]
    def exposed_add(self, a: int, b: int) -> int:
        return a + b

    def exposed_echo(self, data: bytes) -> bytes:
        return data

    def exposed_records(self, n: int = 100) -> Any:
        return record_tuples(n)


class RpycServer:
    def __init__(self) -> None:
        self._server = ThreadedServer(
            _Service, hostname="127.0.0.1", port=0, protocol_config={"sync_request_timeout": 60}
        )
        self.port: int = int(self._server.port)
        self._thread = threading.Thread(target=self._server.start, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.close()


class RpycClient:
    def __init__(self, port: int) -> None:
        self._conn = rpyc.connect("127.0.0.1", port, config={"sync_request_timeout": 60})
        root = self._conn.root
        self.add = root.add
        self.echo = root.echo
        self._records = root.records

    def records(self, n: int = 100) -> list[Record]:
        return [Record(i, s, name, act, list(tags)) for i, s, name, act, tags in self._records(n)]

    def close(self) -> None:
        self._conn.close()


def start_server(metrics_log: str | None) -> RpycServer:
    return RpycServer()


def connect(port: int) -> RpycClient:
    return RpycClient(port)
