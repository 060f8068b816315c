"""The metrics log at a high call rate: bytes per call, and the dashboard's CPU while following.

Usage: python bench/metrics_high_rate.py [--rate 20000] [--seconds 60] [--dir DIR]
                                         [--summarize-above 500 | --summarize-above none]

A thread records calls through a real ``MetricsWriter`` at ``--rate`` calls/s
(four procedures, log-normal latencies, 1% failures on ``div``), paced in 1 ms
steps, while ``srpc-metrics LOG`` runs as the live dashboard on a pseudo-terminal
(120 x 40) and follows the log. At the end it prints the log's bytes per call,
the minutes of history 100 MiB holds at that rate, the dashboard's CPU time
(user + system, from ``wait4``) over the run as a share of one core, the same
for the run alone (without its start-up: read from ``/proc`` when the calls
begin), and the CPU time of one ``srpc-metrics LOG --once`` over the finished log.
"""

from __future__ import annotations

import argparse
import os
import pty
import random
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from fcntl import ioctl
from pathlib import Path

from srpc.metrics import MetricsWriter

PROCS = ["add", "sub", "mult", "div"]


def produce(writer: MetricsWriter, rate: float, seconds: float) -> int:
    rng = random.Random(1)
    lat = [rng.lognormvariate(-3.0, 0.7) for _ in range(4096)]
    made = 0
    start = time.perf_counter()
    end = start + seconds
    append = writer.append
    perf = time.perf_counter
    while True:
        now = perf()
        if now >= end:
            return made
        due = int((now - start) * rate)
        while made < due:
            proc = PROCS[made & 3]
            ok = proc != "div" or made % 400 != 3
            append(
                (
                    now,
                    proc,
                    ok,
                    lat[made & 4095],
                    None if ok else "ZeroDivisionError",
                    f"127.0.0.1:{50000 + made % 16}",
                    21,
                    12,
                )
            )
            made += 1
        time.sleep(0.001)


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20_000.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--summarize-above", default="500")
    args = parser.parse_args()
    limit = None if args.summarize_above == "none" else float(args.summarize_above)

    folder = Path(args.dir or tempfile.mkdtemp(prefix="srpc-rate-"))
    log = folder / "srpc_server_metrics.log"
    for old in folder.glob("srpc_server_metrics.log*"):
        old.unlink()
    exe = shutil.which("srpc-metrics", path=str(Path(sys.executable).parent)) or "srpc-metrics"

    writer = MetricsWriter(log, service="calc", summarize_above=limit)
    writer.start(address="127.0.0.1:5000")

    master, slave = pty.openpty()
    ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    dash = subprocess.Popen([exe, str(log)], stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    screen = bytearray()

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            screen[:] = (screen + data)[-200_000:]

    threading.Thread(target=drain, daemon=True).start()
    time.sleep(1.0)  # the dashboard is up and has read the (empty) log

    cpu_at_start = proc_cpu(dash.pid)
    wall = time.perf_counter()
    made = produce(writer, args.rate, args.seconds)
    wall = time.perf_counter() - wall
    writer.close()
    time.sleep(1.0)  # let the dashboard read the last batch
    cpu_at_end = proc_cpu(dash.pid)
    os.write(master, b"q")
    _, status, usage = os.wait4(dash.pid, 0)
    dash.returncode = os.waitstatus_to_exitcode(status)
    dash_cpu = usage.ru_utime + usage.ru_stime

    files = [log, *sorted(folder.glob("srpc_server_metrics.log.*"))]
    size = sum(f.stat().st_size for f in files)
    per_call = size / made
    per_second = size / wall
    minutes = 100 * 1024 * 1024 / per_second / 60 if per_second else float("inf")

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    once = subprocess.run([exe, str(log), "--once"], capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    once_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    counted = next((line for line in once.stdout.splitlines() if line.startswith("uptime")), "?")

    print(f"calls recorded      {made:,} in {wall:.1f} s ({made / wall:,.0f} calls/s)")
    print(f"summarize_above     {limit}; batches summarised {writer.summarized_batches}")
    print(f"log                 {size:,} bytes in {len(files)} file(s): {per_call:.2f} bytes/call")
    print(f"history in 100 MiB  {minutes:,.1f} minutes at this rate")
    print(
        f"dashboard (live)    {dash_cpu:.2f} s CPU over {wall + 2:.0f} s: "
        f"{100 * dash_cpu / (wall + 2):.1f}% of a core (exit {dash.returncode})"
    )
    following = cpu_at_end - cpu_at_start
    print(
        f"dashboard following {following:.2f} s CPU over {wall + 1:.0f} s of calls: "
        f"{100 * following / (wall + 1):.1f}% of a core (start-up excluded)"
    )
    print(f"srpc-metrics --once {once_cpu:.2f} s CPU; {counted}")


if __name__ == "__main__":
    main()
