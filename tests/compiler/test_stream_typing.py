"""What a user types against generated streaming stubs, judged by mypy --strict (docs/STUBGEN.md).

The sync stub's stream is an iterator and a context manager, a subtype of the interface's
``Iterator[T]``; the async stub's is used directly in ``async for`` (no ``await``) and is
an async context manager. Item types flow through: a wrong one is a mypy error.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import pytest

from srpc.compiler import generate
from tests.compiler.helpers import CORPUS

GOOD = '''
import asyncio
from collections.abc import AsyncIterator, Iterator

from srpc import AsyncResultStream, ResultStream
from srpc_streams_client_stub import SrpcStreamsAsyncClientStub, SrpcStreamsClientStub
from streams.streams_interface import Reading, StreamsInterface


def readings() -> Iterator[Reading]:
    yield Reading("a", 1.0)


async def chunks() -> AsyncIterator[bytes]:
    yield b"x"


def sync_side(stub: SrpcStreamsClientStub) -> int:
    total = 0
    with stub.count(3) as it:
        for x in it:
            total += x
    stream: ResultStream[int] = stub.count(2)
    first: int = next(stream)
    stream.close()
    as_declared: Iterator[int] = stub.count(1)  # a subtype of what the interface says
    iface: StreamsInterface = stub
    for y in iface.count(1):
        total += y
    scaled: list[float] = list(stub.scale(2.0, values=[1.0, 2.0]))
    sent: int = stub.upload(readings(), tag="t") + stub.upload([Reading("b", 2.0)])
    sent += stub.aupload([b"ab"])
    return total + first + sent + len(scaled) + len(list(as_declared))


async def async_side(astub: SrpcStreamsAsyncClientStub) -> float:
    total = 0.0
    async for x in astub.count(3):
        total += x
    async with astub.tail("s") as readings_:
        async for reading in readings_:
            total += reading.value
    stream: AsyncResultStream[float] = astub.scale(2.0, values=[1.0])
    async for value in stream:
        total += value
    total += await astub.upload([Reading("a", 1.0)])
    total += await astub.aupload(chunks())
    total += await astub.aupload([b"plain iterables too"])
    return total


asyncio.run(async_side(SrpcStreamsAsyncClientStub()))
'''

BAD = '''
from srpc_streams_client_stub import SrpcStreamsAsyncClientStub, SrpcStreamsClientStub


def sync_side(stub: SrpcStreamsClientStub) -> None:
    with stub.count(3) as it:
        for x in it:
            text: str = x  # BAD-ITEM
    stub.upload([1, 2])  # BAD-ARG


async def async_side(astub: SrpcStreamsAsyncClientStub) -> None:
    await astub.count(3)  # BAD-AWAIT
    async for r in astub.tail("s"):
        name: int = r.sensor  # BAD-ASYNC-ITEM
'''


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("stream_typing")
    shutil.copytree(CORPUS / "streams", root / "streams")
    generate(root / "streams" / "streams_interface.py").write(root)
    (root / "good.py").write_text(textwrap.dedent(GOOD).lstrip())
    (root / "bad.py").write_text(textwrap.dedent(BAD).lstrip())
    done = subprocess.run(
        [
            sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--show-error-codes",
            "--cache-dir", str(root / ".mypy_cache"),
            "good.py", "bad.py", "srpc_streams_client_stub.py", "srpc_streams_server_stub.py",
        ],
        cwd=root,
        capture_output=True,
        text=True,
    )  # fmt: skip
    return done.stdout + done.stderr


def _lines_with(marker: str) -> int:
    lines = textwrap.dedent(BAD).lstrip().splitlines()
    return next(i for i, line in enumerate(lines, 1) if marker in line)


def test_the_users_streaming_code_and_the_stubs_are_clean(checked: str) -> None:
    findings = [line for line in checked.splitlines() if not line.startswith("bad.py")]
    assert [f for f in findings if ": error:" in f or ": note:" in f] == [], checked


@pytest.mark.parametrize(
    ("marker", "code"),
    [
        ("BAD-ITEM", "assignment"),
        ("BAD-ARG", "list-item"),
        ("BAD-AWAIT", "misc"),
        ("BAD-ASYNC-ITEM", "assignment"),
    ],
)
def test_wrong_item_types_and_a_stray_await_fail_mypy(checked: str, marker: str, code: str) -> None:
    line = _lines_with(marker)
    errors = [f for f in checked.splitlines() if f.startswith(f"bad.py:{line}: error:")]
    assert errors and any(f"[{code}]" in e for e in errors), checked
