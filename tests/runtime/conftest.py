"""Fixtures for the runtime tests: servers on 127.0.0.1, port 0, in the background."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# Importing the stubs puts the `kitchen` and `calc` packages on sys.path first.
from .stubs import (
    SrpcCalcClientStub,
    SrpcCalcServerStub,
    SrpcKitchenClientStub,
    SrpcKitchenServerStub,
)


@pytest.fixture(scope="module")
def calc_server() -> Iterator[SrpcCalcServerStub]:
    with SrpcCalcServerStub(port=0, metrics_log=None) as server:
        yield server


@pytest.fixture
def calc(calc_server: SrpcCalcServerStub) -> Iterator[SrpcCalcClientStub]:
    with SrpcCalcClientStub(*calc_server.address, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def kitchen_server() -> Iterator[SrpcKitchenServerStub]:
    with SrpcKitchenServerStub(port=0, metrics_log=None) as server:
        yield server


@pytest.fixture
def kitchen(kitchen_server: SrpcKitchenServerStub) -> Iterator[SrpcKitchenClientStub]:
    with SrpcKitchenClientStub(*kitchen_server.address, timeout=30) as client:
        yield client
