"""The stubs the hardening tests call through: srpc-stubgen's output for ``svc/guard``.

``svc/`` is laid out as a user's server folder; the generated modules there
are committed (so server and client subprocesses import them without the
compiler) and checked for drift by ``test_generated_stubs_are_current``.
Regenerate with ``cd tests/hardening/svc && srpc-stubgen guard/guard_interface.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

SVC = Path(__file__).resolve().parent / "svc"
if str(SVC) not in sys.path:
    sys.path.insert(0, str(SVC))

from guard.guard import Guard  # noqa: E402
from guard.guard_interface import GuardInterface  # noqa: E402
from srpc_guard_client_stub import (  # noqa: E402
    SERVICE,
    SrpcGuardAsyncClientStub,
    SrpcGuardClientStub,
)
from srpc_guard_server_stub import SrpcGuardServerStub  # noqa: E402

__all__ = [
    "SERVICE",
    "SVC",
    "Guard",
    "GuardInterface",
    "SrpcGuardAsyncClientStub",
    "SrpcGuardClientStub",
    "SrpcGuardServerStub",
]
