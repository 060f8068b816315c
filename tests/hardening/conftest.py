"""Fixtures shared by the hardening tests: a throwaway PKI, servers on port 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from .certs import OPENSSL, ThrowawayPKI, make_test_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayPKI:
    if OPENSSL is None:
        pytest.skip("the openssl CLI is not installed; TLS tests need it to make a test CA")
    directory: Path = tmp_path_factory.mktemp("pki")
    return make_test_pki(directory)
