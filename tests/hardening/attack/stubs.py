"""The stubs of the attack suite's ``target`` service: srpc-stubgen's output for ``svc/target``.

Committed like the guard's (``tests/hardening/stubs.py``) and checked for
drift by ``test_attack.py``. Regenerate with
``cd tests/hardening/svc && srpc-stubgen target/target_interface.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

SVC = Path(__file__).resolve().parents[1] / "svc"
if str(SVC) not in sys.path:
    sys.path.insert(0, str(SVC))

from srpc_target_client_stub import SERVICE, SrpcTargetClientStub  # noqa: E402
from srpc_target_server_stub import SrpcTargetServerStub  # noqa: E402
from target.target_interface import TargetInterface  # noqa: E402

__all__ = ["SERVICE", "SVC", "SrpcTargetClientStub", "SrpcTargetServerStub", "TargetInterface"]
