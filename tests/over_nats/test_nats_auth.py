"""NATS's own authentication passed through (token, user and password, TLS with ``ssl=``,
any ``nats.connect`` option), and srpc's token over NATS as over TCP."""

from __future__ import annotations

import asyncio
import shutil
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

import srpc
from tests.hardening.certs import ThrowawayPKI, make_test_pki
from tests.runtime.stubs import (
    CALC_SERVICE,
    SrpcCalcAsyncClientStub,
    SrpcCalcClientStub,
    SrpcCalcServerStub,
)

from .natsd import NatsServer, nats_server


def _with_credentials(server: NatsServer, credentials: str) -> str:
    return f"nats://{credentials}@{server.host}:{server.port}"


@pytest.fixture(scope="module")
def token_natsd() -> Iterator[NatsServer]:
    with nats_server(token="s3cret") as server:
        yield server


def test_a_nats_token_in_the_url_or_in_the_options(token_natsd: NatsServer) -> None:
    url = _with_credentials(token_natsd, "s3cret")
    with (
        SrpcCalcServerStub(url, metrics_log=None) as server,
        SrpcCalcClientStub(url, timeout=10) as calc,
        SrpcCalcClientStub(token_natsd.url, nats_options={"token": "s3cret"}) as by_option,
    ):
        assert calc.add(1, 2) == 3
        assert by_option.add(2, 2) == 4
        assert "s3cret" not in server._start_line()
        assert "s3cret" not in repr(calc)

        async def main() -> int:
            async with SrpcCalcAsyncClientStub(url, timeout=10) as acalc:
                return await acalc.mult(3, 4)

        assert asyncio.run(main()) == 12


def test_a_missing_or_wrong_nats_token_is_refused(token_natsd: NatsServer) -> None:
    for url in (token_natsd.url, _with_credentials(token_natsd, "wrong")):
        with (
            SrpcCalcClientStub(url, connect_timeout=2) as calc,
            pytest.raises(srpc.AuthenticationFailed, match="NATS server"),
        ):
            calc.add(1, 2)


def test_user_and_password_in_the_url() -> None:
    config = 'authorization { user: "alice", password: "pw" }'
    with nats_server(config=config) as natsd:
        url = _with_credentials(natsd, "alice:pw")
        with (
            SrpcCalcServerStub(url, metrics_log=None),
            SrpcCalcClientStub(url, timeout=10) as calc,
        ):
            assert calc.sub(5, 2) == 3
        with (
            SrpcCalcClientStub(_with_credentials(natsd, "alice:nope"), connect_timeout=2) as bad,
            pytest.raises(srpc.AuthenticationFailed),
        ):
            bad.add(1, 2)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayPKI:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificates for the TLS test")
    return make_test_pki(tmp_path_factory.mktemp("pki"))


def test_tls_to_the_nats_server_with_ssl(pki: ThrowawayPKI) -> None:
    config = (
        f'tls {{ cert_file: "{pki.server_cert}", key_file: "{pki.server_key}", '
        f'ca_file: "{pki.ca_cert}" }}'
    )
    with nats_server(config=config) as natsd:
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        with (
            SrpcCalcServerStub(natsd.url, ssl=context, metrics_log=None),
            SrpcCalcClientStub(natsd.url, ssl=context, timeout=10) as calc,
        ):
            assert calc.add(20, 22) == 42
        untrusted = ssl.create_default_context(cafile=str(pki.other_ca_cert))
        with (
            SrpcCalcClientStub(natsd.url, ssl=untrusted, connect_timeout=2) as bad,
            pytest.raises(srpc.ConnectError),
        ):
            bad.add(1, 2)


def test_the_srpc_token_over_nats(natsd: NatsServer) -> None:
    with SrpcCalcServerStub(natsd.url, token="srpc-secret", metrics_log=None):
        with SrpcCalcClientStub(natsd.url, token="srpc-secret", timeout=10) as calc:
            assert calc.add(1, 2) == 3
        for token in (None, "wrong"):
            with (
                SrpcCalcClientStub(natsd.url, token=token, timeout=10) as calc,
                pytest.raises(srpc.AuthenticationFailed, match="token"),
            ):
                calc.add(1, 2)
        # Every request carries the token: one sent without it is refused before dispatch.
        assert asyncio.run(_raw_request(natsd.url)) == "AuthenticationFailed"


async def _raw_request(url: str) -> str:
    import msgspec
    import nats

    from srpc.nats.wire import Subjects
    from srpc.protocol import ErrorReply, Message

    nc = await nats.connect(url)
    try:
        subject = Subjects(CALC_SERVICE.name, CALC_SERVICE.fingerprint).service
        inbox = nc.new_inbox()
        sub = await nc.subscribe(f"{inbox}.>")
        request = msgspec.msgpack.encode([4, 7, "add", [1, 2], {}])
        await nc.publish(subject, request, reply=f"{inbox}.7")
        msg = await sub.next_msg(timeout=5)
        answer = msgspec.msgpack.decode(msg.data, type=Message)
        assert isinstance(answer, ErrorReply)
        return answer.qualname
    finally:
        await nc.close()


def test_a_malformed_nats_address_is_invalid_address() -> None:
    with pytest.raises(srpc.InvalidAddress):
        SrpcCalcClientStub("nats://host:notaport")
    with pytest.raises(srpc.InvalidAddress):
        SrpcCalcClientStub("nats://")


def test_an_unreachable_nats_server_is_connect_error(tmp_path: Path) -> None:
    from .natsd import _free_port

    url = f"nats://127.0.0.1:{_free_port()}"
    with SrpcCalcClientStub(url, connect_timeout=1) as calc, pytest.raises(srpc.ConnectError):
        calc.add(1, 2)
    server = SrpcCalcServerStub(url, metrics_log=None)
    with pytest.raises(srpc.ConnectError):
        server.start_in_background()
