"""Servers in child processes and the ``srpc`` program, for the command-line tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SRPC = Path(sys.executable).parent / "srpc"


class ServiceProcess:
    """``python -m tests.tools.serve SERVICE ...`` on 127.0.0.1, port 0."""

    def __init__(self, service: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.tools.serve", service, *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"the server process did not start: {line!r}")
        self.port = int(line.split()[1])
        self.target = f"tcp://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> ServiceProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def srpc(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """The installed ``srpc`` program, run with ``args``."""
    return subprocess.run(
        [str(SRPC), *args], capture_output=True, text=True, timeout=timeout, cwd=REPO
    )
