"""srpc through its generated stubs (``srpc-stubgen`` output, generated at bench time).

The driver generates ``srpc_benchsvc_{server,client}_stub.py`` into a temp
dir and puts it and ``bench/srpc_service`` on the child processes' path.
"""

from __future__ import annotations

from typing import Any


class SrpcServer:
    def __init__(self, metrics_log: str | None) -> None:
        from srpc_benchsvc_server_stub import (  # type: ignore[import-not-found, unused-ignore]
            SrpcBenchsvcServerStub,
        )

        self._server: Any = SrpcBenchsvcServerStub(
            host="127.0.0.1", port=0, metrics_log=metrics_log
        ).start_in_background()
        self.port: int = int(self._server.address[1])

    def stop(self) -> None:
        self._server.stop()


def start_server(metrics_log: str | None) -> SrpcServer:
    return SrpcServer(metrics_log)


def connect(port: int) -> Any:
    from srpc_benchsvc_client_stub import (  # type: ignore[import-not-found, unused-ignore]
        SrpcBenchsvcClientStub,
    )

    return SrpcBenchsvcClientStub("127.0.0.1", port)


async def connect_async(port: int) -> Any:
    from srpc_benchsvc_client_stub import SrpcBenchsvcAsyncClientStub

    return SrpcBenchsvcAsyncClientStub("127.0.0.1", port)


# -- streams (S1-S3): the stream bench service, its stubs written by hand in bench/streams_stub.py
# until stubgen supports streams


class SrpcStreamServer:
    def __init__(self) -> None:
        from bench.streams_stub import SrpcStreambenchServerStub

        self._server: Any = SrpcStreambenchServerStub(
            host="127.0.0.1", port=0, metrics_log=None
        ).start_in_background()
        self.port: int = int(self._server.address[1])

    def stop(self) -> None:
        self._server.stop()


def start_stream_server() -> SrpcStreamServer:
    return SrpcStreamServer()


def connect_streams(port: int) -> Any:
    from bench.streams_stub import SrpcStreambenchClientStub

    return SrpcStreambenchClientStub("127.0.0.1", port)


async def connect_streams_async(port: int) -> Any:
    from bench.streams_stub import SrpcStreambenchAsyncClientStub

    return SrpcStreambenchAsyncClientStub("127.0.0.1", port)
