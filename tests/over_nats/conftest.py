"""Fixtures for the NATS tests: a real nats-server on a free port of 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .natsd import NatsServer, nats_server


@pytest.fixture(scope="module")
def natsd() -> Iterator[NatsServer]:
    with nats_server() as server:
        yield server
