"""grpcio, sync unary calls (and, for S1-S3, sync server- and client-streaming calls);
``benchsvc_pb2*`` are generated at bench time by the driver."""

from __future__ import annotations

from concurrent import futures
from typing import Any

import benchsvc_pb2 as pb  # type: ignore[import-not-found, unused-ignore]
import benchsvc_pb2_grpc as pb_grpc  # type: ignore[import-not-found, unused-ignore]
import grpc  # type: ignore[import-untyped, import-not-found, unused-ignore]

_OPTIONS = [
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
]


class _Servicer(pb_grpc.BenchsvcServicer):  # type: ignore[misc]
    def Add(self, request: Any, context: Any) -> Any:
        return pb.AddReply(value=request.a + request.b)

    def Echo(self, request: Any, context: Any) -> Any:
        return pb.EchoMessage(data=request.data)

    def Records(self, request: Any, context: Any) -> Any:
        return pb.RecordsReply(
            records=[
                pb.Record(
                    id=i,
                    score=i * 0.5,
                    name=f"record-{i}",
                    active=i % 2 == 0,
                    tags=[i, i + 1, i + 2, i + 3],
                )
                for i in range(request.n)
            ]
        )

    def Count(self, request: Any, context: Any) -> Any:
        item = pb.CountItem
        for i in range(request.n):
            yield item(value=i)

    def Blobs(self, request: Any, context: Any) -> Any:
        message = pb.EchoMessage(data=b"x" * request.size)
        for _ in range(request.n):
            yield message

    def Upload(self, request_iterator: Any, context: Any) -> Any:
        total = 0
        for message in request_iterator:
            total += len(message.data)
        return pb.UploadReply(total=total)


class GrpcServer:
    def __init__(self) -> None:
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=_OPTIONS)
        pb_grpc.add_BenchsvcServicer_to_server(_Servicer(), self._server)
        self.port: int = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    def stop(self) -> None:
        self._server.stop(grace=1.0).wait()


class GrpcClient:
    def __init__(self, port: int) -> None:
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=_OPTIONS)
        grpc.channel_ready_future(self._channel).result(timeout=10)
        stub = pb_grpc.BenchsvcStub(self._channel)
        self._add = stub.Add
        self._echo = stub.Echo
        self._records = stub.Records

    def add(self, a: int, b: int) -> int:
        return int(self._add(pb.AddRequest(a=a, b=b)).value)

    def echo(self, data: bytes) -> bytes:
        return bytes(self._echo(pb.EchoMessage(data=data)).data)

    def records(self, n: int = 100) -> Any:
        return self._records(pb.RecordsRequest(n=n)).records

    def close(self) -> None:
        self._channel.close()


def start_server(metrics_log: str | None) -> GrpcServer:
    return GrpcServer()


class _Items:
    """A response stream's items as plain values; ``close()`` cancels the call."""

    def __init__(self, call: Any, field: str) -> None:
        self._call = call
        self._field = field

    def __iter__(self) -> _Items:
        return self

    def __next__(self) -> Any:
        return getattr(next(self._call), self._field)

    def close(self) -> None:
        self._call.cancel()


class GrpcStreamClient(GrpcClient):
    def __init__(self, port: int) -> None:
        super().__init__(port)
        stub = pb_grpc.BenchsvcStub(self._channel)
        self._count = stub.Count
        self._blobs = stub.Blobs
        self._upload = stub.Upload

    def count(self, n: int) -> _Items:
        return _Items(self._count(pb.CountRequest(n=n)), "value")

    def blobs(self, n: int, size: int) -> _Items:
        return _Items(self._blobs(pb.BlobsRequest(n=n, size=size)), "data")

    def upload(self, chunks: Any) -> int:
        message = pb.EchoMessage
        return int(self._upload(message(data=c) for c in chunks).total)


def start_stream_server() -> GrpcServer:
    return GrpcServer()  # the same service: its streaming rpcs


def connect_streams(port: int) -> GrpcStreamClient:
    return GrpcStreamClient(port)


def connect(port: int) -> GrpcClient:
    return GrpcClient(port)
