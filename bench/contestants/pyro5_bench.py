"""Pyro5 with its msgpack serializer (its default, serpent, base64-encodes bytes).

``records`` returns :class:`bench.common.Record` objects: the server turns
them into dicts with Pyro5's class_to_dict hook and the client rebuilds them
with dict_to_class, so the client gets dataclasses as srpc's does.
"""

from __future__ import annotations

import threading
from typing import Any

import Pyro5.api  # type: ignore[import-untyped, import-not-found, unused-ignore]
from Pyro5 import config  # type: ignore[import-untyped, import-not-found, unused-ignore]

from bench.common import Record, record_fields

config.SERIALIZER = "msgpack"
_CLASS = "bench.common.Record"


def _record_to_dict(r: Any) -> dict[str, Any]:
    return {
        "__class__": _CLASS,
        "id": r.id,
        "score": r.score,
        "name": r.name,
        "active": r.active,
        "tags": r.tags,
    }


def _dict_to_record(classname: str, d: dict[str, Any]) -> Record:
    return Record(d["id"], d["score"], d["name"], d["active"], d["tags"])


@Pyro5.api.expose
@Pyro5.api.behavior(instance_mode="single")
class BenchService:
    def add(self, a: int, b: int) -> int:
        return a + b

    def echo(self, data: bytes) -> bytes:
        return data

    def records(self, n: int = 100) -> list[Record]:
        return [Record(*record_fields(i)) for i in range(n)]


class PyroServer:
    def __init__(self) -> None:
        Pyro5.api.register_class_to_dict(Record, _record_to_dict)
        self._daemon = Pyro5.api.Daemon(host="127.0.0.1", port=0)
        self.uri = self._daemon.register(BenchService(), "benchsvc")
        self.port: int = int(self._daemon.locationStr.rsplit(":", 1)[1])
        self._thread = threading.Thread(target=self._daemon.requestLoop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._daemon.shutdown()


class PyroClient:
    def __init__(self, port: int) -> None:
        Pyro5.api.register_dict_to_class(_CLASS, _dict_to_record)
        self._proxy = Pyro5.api.Proxy(f"PYRO:benchsvc@127.0.0.1:{port}")
        self._proxy._pyroBind()
        self.add = self._proxy.add
        self.echo = self._proxy.echo
        self.records = self._proxy.records

    def close(self) -> None:
        self._proxy._pyroRelease()


def start_server(metrics_log: str | None) -> PyroServer:
    return PyroServer()


def connect(port: int) -> PyroClient:
    return PyroClient(port)
