"""One kitchen server instance over NATS, in a process of its own (for the failure tests).

``python -m tests.over_nats.instance NATS_URL CALLS_LOG [GRACE]`` serves the kitchen
service through NATS; every call of ``async_sleep`` and ``echo_str`` appends
its value to CALLS_LOG (one line, written at once), so a test can count
which instance ran what, and that nothing ran twice. The start line goes
to stdout as over TCP.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from tests.runtime.stubs import SrpcKitchenServerStub


def recording_kitchen(path: str) -> Any:
    from kitchen.kitchen import Kitchen  # importable once the stubs are (sys.path)

    class RecordingKitchen(Kitchen):
        def __init__(self) -> None:
            super().__init__()
            self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

        def note(self, value: str) -> None:
            os.write(self.fd, f"{value}\n".encode())

        async def async_sleep(self, seconds: float, value: str) -> str:
            self.note(value)
            return await super().async_sleep(seconds, value)

        def echo_str(self, value: str) -> str:  # type: ignore[override]
            self.note(value)
            return value

    return RecordingKitchen()


def main() -> None:
    url, path = sys.argv[1], sys.argv[2]
    grace = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
    SrpcKitchenServerStub(
        url, impl=recording_kitchen(path), metrics_log=None, grace_period=grace
    ).start()


if __name__ == "__main__":
    main()
