"""srpc.security on its own: TLS contexts over a raw socket pair, the token check, limits."""

from __future__ import annotations

import socket
import ssl
import threading

import pytest

from srpc.security import (
    TOKEN_ENV,
    Limits,
    client_ssl_context,
    resolve_token,
    server_ssl_context,
    token_matches,
)

from .certs import ThrowawayPKI


def _tls_exchange(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, hostname: str = "localhost"
) -> tuple[bytes, BaseException | None]:
    """One TLS handshake + 2 bytes over loopback; returns (what the client read, server error)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    server_error: list[BaseException] = []

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(b"ok")
                tls.recv(1)
        except (ssl.SSLError, OSError) as exc:
            server_error.append(exc)
        finally:
            conn.close()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        raw = socket.create_connection(listener.getsockname(), timeout=10)
        with client_ctx.wrap_socket(raw, server_hostname=hostname) as tls:
            data = tls.recv(2)
        return data, (server_error[0] if server_error else None)
    finally:
        thread.join(10)
        listener.close()


def test_server_tls_verified_by_ca_and_host_name(pki: ThrowawayPKI) -> None:
    server = server_ssl_context(pki.server_cert, pki.server_key)
    client = client_ssl_context(pki.ca_cert)
    assert client.check_hostname and client.verify_mode == ssl.CERT_REQUIRED
    assert _tls_exchange(server, client)[0] == b"ok"
    assert _tls_exchange(server, client, hostname="127.0.0.1")[0] == b"ok"


def test_strict_x509_verification_accepts_the_test_certificates(pki: ThrowawayPKI) -> None:
    # Python 3.13 turns VERIFY_X509_STRICT on by default; the test CA must pass it.
    client = client_ssl_context(pki.ca_cert)
    client.verify_flags |= ssl.VERIFY_X509_STRICT
    server = server_ssl_context(pki.server_cert, pki.server_key)
    assert _tls_exchange(server, client)[0] == b"ok"


def test_client_rejects_a_server_signed_by_another_ca(pki: ThrowawayPKI) -> None:
    server = server_ssl_context(pki.server_cert, pki.server_key)
    client = client_ssl_context(pki.other_ca_cert)
    with pytest.raises(ssl.SSLCertVerificationError):
        _tls_exchange(server, client)


def test_client_rejects_a_wrong_host_name(pki: ThrowawayPKI) -> None:
    server = server_ssl_context(pki.server_cert, pki.server_key)
    client = client_ssl_context(pki.ca_cert)
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        _tls_exchange(server, client, hostname="db.example.com")


def test_mutual_tls_accepts_a_client_certificate_from_the_ca(pki: ThrowawayPKI) -> None:
    server = server_ssl_context(pki.server_cert, pki.server_key, pki.ca_cert,
                                require_client_cert=True)
    client = client_ssl_context(pki.ca_cert, pki.client_cert, pki.client_key)
    assert _tls_exchange(server, client) == (b"ok", None)


@pytest.mark.parametrize("offer_foreign_cert", [False, True])
def test_mutual_tls_refuses_clients_without_a_trusted_certificate(
    pki: ThrowawayPKI, offer_foreign_cert: bool
) -> None:
    server = server_ssl_context(pki.server_cert, pki.server_key, pki.ca_cert,
                                require_client_cert=True)
    if offer_foreign_cert:
        client = client_ssl_context(pki.ca_cert, pki.other_client_cert, pki.other_client_key)
    else:
        client = client_ssl_context(pki.ca_cert)
    # TLS 1.3 finishes the client's side of the handshake before the server
    # has judged the certificate, so the refusal shows on the first read.
    try:
        data, server_error = _tls_exchange(server, client)
    except (ssl.SSLError, OSError):
        return
    assert data == b""
    assert isinstance(server_error, ssl.SSLError)


def test_require_client_cert_needs_a_ca(pki: ThrowawayPKI) -> None:
    with pytest.raises(ValueError, match="cafile"):
        server_ssl_context(pki.server_cert, pki.server_key, require_client_cert=True)


def test_token_from_argument_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert resolve_token(None) is None
    assert resolve_token("s3cret") == b"s3cret"
    monkeypatch.setenv(TOKEN_ENV, "from-env")
    assert resolve_token(None) == b"from-env"
    assert resolve_token("explicit") == b"explicit"
    monkeypatch.setenv(TOKEN_ENV, "")
    assert resolve_token(None) is None


def test_token_matches() -> None:
    assert token_matches(None, None) and token_matches(None, "anything")
    assert token_matches(b"s3cret", "s3cret") and token_matches(b"s3cret", b"s3cret")
    assert not token_matches(b"s3cret", None)
    assert not token_matches(b"s3cret", "s3cre")
    assert not token_matches(b"s3cret", "")


def test_limits_defaults_and_validation() -> None:
    limits = Limits()
    assert limits.max_frame == 64 * 1024 * 1024
    assert limits.max_connections > 0 and limits.max_in_flight > 0
    for bad in ({"max_frame": 0}, {"max_connections": -1}, {"max_in_flight": True},
                {"handshake_timeout": 0}, {"idle_timeout": -5.0}):
        with pytest.raises(ValueError):
            Limits(**bad)
    assert Limits(idle_timeout=None).idle_timeout is None


def test_generated_stubs_are_current() -> None:
    from srpc.compiler import generate

    from .stubs import SVC

    stale = generate(SVC / "guard" / "guard_interface.py").stale(SVC)
    assert not stale, f"regenerate {stale}: see tests/hardening/stubs.py"
