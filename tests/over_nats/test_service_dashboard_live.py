"""The live ``srpc-metrics nats://host:port/SERVICE`` in a real terminal (tmux): it follows the
instances' STATS as calls are made, shows an instance going silent, and quits on q."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .fake_instances import FINGERPRINT_A, ServedInstances, identity
from .natsd import NatsServer

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed; live view untested")
BIN = Path(sys.executable).parent


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        assert TMUX is not None
        done = subprocess.run(
            [TMUX, "-L", self.socket, "-f", os.devnull, *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert done.returncode == 0, (args, done.stderr)
        return done.stdout

    def wait_for(self, ok: Callable[[str], bool], what: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self("capture-pane", "-p", "-t", "dash")
            if ok(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; screen:\n{screen}")


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    t = Tmux(f"srpc-nats-test-{os.getpid()}-{tmp_path.name}")
    try:
        yield t
    finally:
        subprocess.run([TMUX or "tmux", "-L", t.socket, "kill-server"], capture_output=True)


def _cells(screen: str, label: str) -> list[str]:
    for line in screen.splitlines():
        text = line.replace("│", " ").strip()
        if text.startswith(label + " "):
            return text[len(label) :].split()
    return []


@pytest.mark.slow
def test_live_view_follows_every_instance_and_quits(
    tmux: Tmux, natsd: NatsServer, tmp_path: Path
) -> None:
    with ServedInstances(natsd.url) as served:
        served.add(identity("livecalc", FINGERPRINT_A, "live-1", ("add",)))
        served.add(identity("livecalc", FINGERPRINT_A, "live-2", ("add",)))
        command = shlex.join(
            [str(BIN / "srpc-metrics"), f"{natsd.url}/livecalc", "--refresh", "0.1"]
        )
        command += '; echo "srpc-metrics exited with $?"; sleep 60'
        tmux(
            "new-session", "-d", "-s", "dash", "-x", "160", "-y", "50", "-c", str(tmp_path), command
        )
        tmux.wait_for(lambda s: "servers 2 running" in s, "both instances")
        for _ in range(7):
            served.record("live-1", "add", True, 0.5)
        served.record("live-2", "add", False, 2.0, "ValueError")
        screen = tmux.wait_for(lambda s: _cells(s, "add @ live-1")[:1] == ["7"], "live-1's calls")
        assert _cells(screen, "add")[:3] == ["8", "7", "1"]  # calls, ok, failed over both
        assert _cells(screen, "add @ live-2")[:3] == ["1", "0", "1"]
        served.stop("live-2")  # it stops answering: silent after a couple of seconds
        tmux.wait_for(lambda s: "1 silent" in s, "live-2 shown silent")
        tmux("send-keys", "-t", "dash", "q")
        tmux.wait_for(lambda s: "srpc-metrics exited with 0" in s, "a clean exit on q")
