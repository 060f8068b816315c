"""The live dashboard in a real terminal: tmux runs ``srpc-metrics LOG``; we read its screen."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .helpers import append, call_line, event_line, metrics_command

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(
    TMUX is None, reason="tmux is not installed (the set-up step installs it); live view untested"
)


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        assert TMUX is not None
        result = subprocess.run(
            [TMUX, "-L", self.socket, "-f", os.devnull, *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert result.returncode == 0, (args, result.stderr)
        return result.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "dash")

    def wait_for(self, ok: Callable[[str], bool], what: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if ok(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; screen:\n{screen}")


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    t = Tmux(f"srpc-test-{os.getpid()}-{tmp_path.name}")
    try:
        yield t
    finally:
        subprocess.run([TMUX or "tmux", "-L", t.socket, "kill-server"], capture_output=True)


def row(screen: str, proc: str) -> list[str]:
    for line in screen.splitlines():
        cells = [c for c in re.split(r"[\s│|]+", line) if c]
        if cells[:1] == [proc]:
            return cells
    return []


@pytest.mark.parametrize("quit_key", ["q", "C-c"])
def test_live_view_follows_the_log_and_quits(tmux: Tmux, log: Path, quit_key: str) -> None:
    t0 = time.time()
    append(log, event_line("start", ts=t0), *[call_line("add", ts=t0) for _ in range(5)])
    # the shell reports the exit status on the screen (tmux's own #{pane_dead_status} can lag)
    command = shlex.join([*metrics_command(), log.name, "--refresh", "0.1"])
    command += '; echo "srpc-metrics exited with $?"'
    command += "; echo terminal mode $(stty -a | tr ' ;' '\\n\\n' | grep -x -e -*icanon -e -*echo)"
    command += "; sleep 60"
    tmux("new-session", "-d", "-s", "dash", "-x", "140", "-y", "40", "-c", str(log.parent), command)

    screen = tmux.wait_for(lambda s: row(s, "add")[1:2] == ["5"], "the add row")
    assert "calls 5" in screen and "service calc" in screen

    append(
        log,
        *[call_line("add", ts=time.time()) for _ in range(7)],
        *[call_line("div", ts=time.time(), ok=False, error="ZeroDivisionError") for _ in range(3)],
        "garbage",
    )
    screen = tmux.wait_for(lambda s: row(s, "div")[1:2] == ["3"], "the div row")
    assert row(screen, "add")[1:2] == ["12"]
    assert "calls 15" in screen and "malformed lines 1" in screen
    assert "ZeroDivisionError" in screen

    # rotation: the writer renames the log and starts a new one
    os.replace(log, log.with_name(log.name + ".1"))
    append(log, *[call_line("mult", ts=time.time()) for _ in range(4)])
    tmux.wait_for(lambda s: row(s, "mult")[1:2] == ["4"], "the mult row after rotation")

    tmux("send-keys", "-t", "dash", quit_key)
    screen = tmux.wait_for(lambda s: "srpc-metrics exited" in s, f"the exit after {quit_key}")
    assert "srpc-metrics exited with 0" in screen
    assert "terminal mode icanon echo" in tmux.wait_for(lambda s: "terminal mode" in s, "stty")
    assert "Traceback" not in tmux.screen()


def test_live_view_waits_for_the_log(tmux: Tmux, log: Path) -> None:
    command = shlex.join([*metrics_command(), log.name, "--refresh", "0.1"])
    tmux("new-session", "-d", "-s", "dash", "-x", "140", "-y", "40", "-c", str(log.parent), command)
    tmux.wait_for(lambda s: "waiting for the log" in s, "the waiting notice")
    append(log, call_line("add", ts=time.time()))
    tmux.wait_for(lambda s: row(s, "add")[1:2] == ["1"], "the add row")
    tmux("send-keys", "-t", "dash", "q")
