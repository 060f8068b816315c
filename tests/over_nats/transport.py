"""Whether this branch has the NATS transport yet (``srpc/nats/`` beyond the service protocol).

The demo and bench tests need real ``nats://`` servers and clients; until the
transport is merged they are skipped with this reason.
"""

from __future__ import annotations

from pathlib import Path

import srpc.nats

_HERE = Path(srpc.nats.__file__).parent
HAS_TRANSPORT = any(p.stem not in {"__init__", "service"} for p in _HERE.glob("*.py"))
NO_TRANSPORT = "the NATS transport (srpc/nats/ server and clients) is not on this branch yet"
