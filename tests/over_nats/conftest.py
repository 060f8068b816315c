"""Fixtures for the NATS tests: a real nats-server on a free port of 127.0.0.1, and the
runtime tests' generated stubs (calc, kitchen, streams) served through it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# Importing the stubs puts the `kitchen` and `calc` packages on sys.path first.
from tests.runtime.stubs import SrpcCalcServerStub, SrpcKitchenServerStub

from .natsd import NatsServer, nats_server


@pytest.fixture(scope="module")
def natsd() -> Iterator[NatsServer]:
    with nats_server() as server:
        yield server


@pytest.fixture(scope="module")
def nats_calc(natsd: NatsServer) -> Iterator[SrpcCalcServerStub]:
    with SrpcCalcServerStub(natsd.url, metrics_log=None) as server:
        yield server


@pytest.fixture(scope="module")
def nats_kitchen(natsd: NatsServer) -> Iterator[SrpcKitchenServerStub]:
    with SrpcKitchenServerStub(natsd.url, metrics_log=None, send_tracebacks=True) as server:
        yield server
