"""A throwaway certificate authority for the TLS tests, made with the ``openssl`` CLI.

Certificates carry the extensions strict verifiers insist on (basic
constraints, key usage, key identifiers, SAN), so they also pass the
stricter defaults of newer Pythons.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

OPENSSL = shutil.which("openssl")

_CA_EXT = """\
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
"""

_LEAF_EXT = """\
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage={usage}
subjectAltName={san}
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
"""


@dataclass(frozen=True)
class ThrowawayPKI:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca_cert: Path  # a CA nobody trusts
    other_client_cert: Path  # signed by the CA nobody trusts
    other_client_key: Path


def _run(*args: str, cwd: Path) -> None:
    assert OPENSSL is not None
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _new_key(name: str, cwd: Path) -> None:
    _run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-out", f"{name}.key", cwd=cwd)


def _make_ca(name: str, cwd: Path) -> None:
    _new_key(name, cwd)
    (cwd / f"{name}.ext").write_text(_CA_EXT)
    _run("req", "-new", "-key", f"{name}.key", "-subj", f"/CN=srpc test {name}",
         "-out", f"{name}.csr", cwd=cwd)
    _run("x509", "-req", "-in", f"{name}.csr", "-signkey", f"{name}.key", "-days", "2",
         "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=cwd)


def _make_leaf(name: str, ca: str, cn: str, usage: str, san: str, cwd: Path) -> None:
    _new_key(name, cwd)
    (cwd / f"{name}.ext").write_text(_LEAF_EXT.format(usage=usage, san=san))
    _run("req", "-new", "-key", f"{name}.key", "-subj", f"/CN={cn}", "-out", f"{name}.csr",
         cwd=cwd)
    _run("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
         "-set_serial", str(secrets.randbits(63)), "-days", "2", "-extfile", f"{name}.ext",
         "-out", f"{name}.crt", cwd=cwd)


def make_test_pki(directory: Path) -> ThrowawayPKI:
    """Write a CA, a server certificate for localhost/127.0.0.1 and client certificates."""
    _make_ca("ca", directory)
    _make_ca("other_ca", directory)
    _make_leaf("server", "ca", "localhost", "serverAuth", "DNS:localhost,IP:127.0.0.1",
               directory)
    _make_leaf("client", "ca", "srpc test client", "clientAuth", "DNS:client.test", directory)
    _make_leaf("other_client", "other_ca", "intruder", "clientAuth", "DNS:intruder.test",
               directory)
    return ThrowawayPKI(
        ca_cert=directory / "ca.crt",
        server_cert=directory / "server.crt",
        server_key=directory / "server.key",
        client_cert=directory / "client.crt",
        client_key=directory / "client.key",
        other_ca_cert=directory / "other_ca.crt",
        other_client_cert=directory / "other_client.crt",
        other_client_key=directory / "other_client.key",
    )
