"""The benchmark driver: ``python -m bench.run`` (``make bench``).

Every measurement starts the contestant's server as its own process on
127.0.0.1 (a free port it reports on stdout), runs the client workload in
other processes (warm-up, then a timed run), and stops the server. Passes
repeat the whole set with the order of contestants rotated; the tables show
medians over passes and, per pass, ratios to the floor measured in that pass.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import queue
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from bench.contestants import CONTESTANTS, Contestant
from bench.gen import (
    REPO_ROOT,
    SRPC_SERVICE_DIR,
    GenerationFailed,
    generate_grpc,
    generate_srpc,
)
from bench.over_nats import NATS_WORKLOADS, NatsOptions, render_nats, run_nats_workloads
from bench.streams import S3_UPLOAD, STREAM_WORKLOADS

ALL_WORKLOADS = ("W1", "W2", "W3", "W4", "W4s", "W5", "W6", *STREAM_WORKLOADS, *NATS_WORKLOADS)
# one-client workloads, measured in alternating slices
INTERLEAVED = ("W1", "W3", "W4", "W4s", "W6", *STREAM_WORKLOADS)
RESULTS_DIR = REPO_ROOT / "bench" / "results"
FLOOR = "floor"
SRPC = "srpc"
GRPC = "grpc"

# Target ratios from the issue: (key, description, threshold, higher is better).
TARGETS: tuple[tuple[str, str, float], ...] = (
    ("W1", "W1 calls/s >= 0.8x floor", 0.8),
    ("W1tail", "W1 p99 <= 2.5x own p50", 2.5),
    ("W2", "W2 calls/s >= 1.5x floor", 1.5),
    ("W3", "W3 MiB/s >= 1.0x floor", 1.0),
    ("W4", "W4 calls/s >= 1.3x floor", 1.3),
    ("W4s", "W4s calls/s >= 3x floor", 3.0),
    ("W5", "W5 metrics on/off >= 0.95", 0.95),
    ("W6", "W6 MiB/s >= 1.0x floor", 1.0),
    ("S1", "S1 items/s >= 0.5x floor", 0.5),
    ("S1grpc", "S1 items/s >= 10x grpc", 10.0),
    ("S2", "S2 MB/s >= 0.8x floor", 0.8),
    ("S3", "S3 MB/s >= 0.8x floor", 0.8),
)

# The number each workload is judged by.
PRIMARY = {
    "W1": "calls_per_s",
    "W2": "calls_per_s",
    "W3": "mib_per_s",
    "W4": "calls_per_s",
    "W4s": "calls_per_s",
    "W6": "mib_per_s",
    "S1": "items_per_s",
    "S2": "mb_per_s",
    "S3": "mb_per_s",
}


class BenchError(RuntimeError):
    pass


@dataclass
class Options:
    passes: int = 3
    duration_s: float = 1.5
    warmup_s: float = 0.3
    warmup_calls: int = 1_000_000
    max_calls: int = 10**9
    clients: int = 8
    contestants: list[str] = field(default_factory=lambda: list(CONTESTANTS))
    workloads: list[str] = field(default_factory=lambda: list(ALL_WORKLOADS))
    results_dir: str = str(RESULTS_DIR)
    quick: bool = False
    pin: str = "same"  # CPU pinning for one-client workloads: same, split or none
    slices: int = 10  # one-client workloads: contestants measured in alternating slices; 0: not
    s3_mib: int = S3_UPLOAD // 2**20  # S3: MiB per upload


# --------------------------------------------------------------------------- processes


class Child:
    """A worker process whose stdout lines arrive on a queue (so waits can time out)."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.argv = argv
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=env,
            cwd=cwd,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def stderr_tail(self, limit: int = 1500) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace").strip()[-limit:]

    def expect(self, prefix: str, timeout: float) -> str:
        """The rest of the first stdout line starting with ``prefix``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self._lines.get(timeout=max(0.0, left))
            except queue.Empty:
                raise BenchError(
                    f"{shlex.join(self.argv[1:])}: no {prefix} within {timeout:.0f}s; "
                    f"stderr: {self.stderr_tail()}"
                ) from None
            if line is None:
                self.proc.wait(timeout=5)
                raise BenchError(
                    f"{shlex.join(self.argv[1:])} exited {self.proc.returncode} "
                    f"before {prefix}; stderr: {self.stderr_tail()}"
                )
            if line.startswith(prefix):
                return line[len(prefix) :].strip()

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stop(self, grace: float = 5.0) -> None:
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()  # servers exit when stdin closes
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()


# --------------------------------------------------------------------------- measuring


@dataclass
class Runner:
    opts: Options
    env: dict[str, str]
    workdir: Path
    log: Callable[[str], None]

    def _cpus(self, workload: str) -> tuple[int | None, int | None]:
        """(server CPU, client CPU) for a workload, per ``--pin``; W2 is never pinned."""
        if workload == "W2" or self.opts.pin == "none" or not hasattr(os, "sched_getaffinity"):
            return None, None
        cpus = sorted(os.sched_getaffinity(0))
        if self.opts.pin == "split" and len(cpus) >= 2:
            return cpus[-2], cpus[-1]
        return cpus[-1], cpus[-1]

    def _server_argv(self, name: str, cpu: int | None, workload: str = "") -> list[str]:
        argv = [sys.executable, "-m", "bench.serve", name]
        if workload in STREAM_WORKLOADS:
            argv.append("--streams")
        return argv if cpu is None else [*argv, "--cpu", str(cpu)]

    def _client_argv(
        self, name: str, workload: str, port: int, wait_go: bool, cpu: int | None
    ) -> list[str]:
        o = self.opts
        argv = [
            sys.executable, "-m", "bench.client", name, workload,
            "--port", str(port),
            "--warmup-s", str(o.warmup_s),
            "--warmup-calls", str(o.warmup_calls),
            "--duration-s", str(o.duration_s),
            "--max-calls", str(o.max_calls),
        ]  # fmt: skip
        if workload == "S3":
            argv += ["--s3-mib", str(o.s3_mib)]
        if wait_go:
            argv.append("--wait-go")
        if cpu is not None:
            argv += ["--cpu", str(cpu)]
        return argv

    def measure(self, name: str, workload: str, metrics_log: bool = False) -> dict[str, Any]:
        """One measurement: a fresh server process, the workload's client process(es)."""
        server_cpu, client_cpu = self._cpus(workload)
        argv = self._server_argv(name, server_cpu, workload)
        if metrics_log:
            argv += ["--metrics-log", str(self.workdir / f"metrics-{time.monotonic_ns()}.log")]
        server = Child(argv, self.env, self.workdir)
        clients: list[Child] = []
        try:
            port = int(server.expect("BENCH_PORT", 60))
            n = self.opts.clients if workload == "W2" else 1
            timeout = 60 + self.opts.warmup_s + self.opts.duration_s
            clients = [
                Child(
                    self._client_argv(name, workload, port, n > 1, client_cpu),
                    self.env,
                    self.workdir,
                )
                for _ in range(n)
            ]
            if n > 1:
                for c in clients:
                    c.expect("BENCH_READY", timeout)
                start_at = time.time() + 0.1
                for c in clients:
                    c.send(f"GO {start_at}")
                server.send("CPU")
                cpu0, wall0 = float(server.expect("BENCH_CPU", timeout)), time.monotonic()
            runs = [json.loads(c.expect("BENCH_RESULT", timeout)) for c in clients]
            server_cores = 0.0
            if n > 1:
                server.send("CPU")
                server_cores = (float(server.expect("BENCH_CPU", timeout)) - cpu0) / (
                    time.monotonic() - wall0
                )
        finally:
            for c in clients:
                c.stop()
            server.stop()
        if n == 1:
            return dict(runs[0])
        return {
            "clients": n,
            "client_processes": True,
            "calls": sum(r["calls"] for r in runs),
            "calls_per_s": sum(r["calls_per_s"] for r in runs),
            "p50_us": statistics.median(r["p50_us"] for r in runs),
            "p99_us": max(r["p99_us"] for r in runs),
            # Where the CPU went: the server process's share of one core while the clients
            # ran (includes the ~0.1 s before GO), and each client's CPU per call.
            "server_cpu_cores": round(server_cores, 3),
            "client_cpu_us_per_call": statistics.median(r["client_cpu_us_per_call"] for r in runs),
        }

    def measure_interleaved(
        self, entries: list[tuple[str, str, bool]], workload: str
    ) -> dict[str, dict[str, Any]]:
        """One-client ``workload`` runs, measured in alternating slices; results by key.

        ``entries`` are ``(key, contestant, metrics log on)``: the contestants
        in turn, or W5's srpc with the log off and on.

        All the contestants' servers and clients run at once, idle but for the
        one being measured: each of ``opts.slices`` rounds gives every client
        one slice of ``duration_s / slices`` seconds, in an order that rotates
        every round. The machine's slow spells (this VM has spells of
        seconds to minutes where everything runs ~30 % slower) then fall on
        every contestant alike instead of on whichever ran at the time.
        """
        o = self.opts
        server_cpu, client_cpu = self._cpus(workload)
        timeout = 60 + o.warmup_s + o.duration_s
        children: dict[str, tuple[Child, Child | None]] = {}
        results: dict[str, dict[str, Any]] = {}

        def fail(name: str, exc: Exception) -> None:
            results[name] = {"error": str(exc)}
            self.log(f"    {name:<11} {workload}: ERROR {exc}")

        try:
            for key, name, metrics_log in entries:
                argv = self._server_argv(name, server_cpu, workload)
                if metrics_log:
                    argv += ["--metrics-log", str(self.workdir / f"metrics-{key}.log")]
                server = Child(argv, self.env, self.workdir)
                children[key] = (server, None)
                try:
                    port = int(server.expect("BENCH_PORT", 60))
                    argv = self._client_argv(name, workload, port, False, client_cpu)
                    started = Child([*argv, "--slices"], self.env, self.workdir)
                    children[key] = (server, started)
                    started.expect("BENCH_READY", timeout)
                except (BenchError, ValueError) as exc:
                    fail(key, exc)
            live = [key for key, _, _ in entries if key not in results]
            seconds = o.duration_s / o.slices
            for r in range(o.slices):
                for name in rotate(live, r):
                    running = children[name][1]
                    if name in results or running is None:
                        continue
                    try:
                        running.send(f"SLICE {seconds}")
                        running.expect("BENCH_SLICE", timeout)
                        running.expect("BENCH_READY", timeout)
                    except BenchError as exc:
                        fail(name, exc)
            for name in live:
                running = children[name][1]
                if name in results or running is None:
                    continue
                try:
                    running.send("END")
                    results[name] = json.loads(running.expect("BENCH_RESULT", timeout))
                    results[name]["slices"] = o.slices
                except (BenchError, ValueError) as exc:
                    fail(name, exc)
                else:
                    self.log(f"    {name:<11} {workload}: {_fmt_primary(workload, results[name])}")
        finally:
            for server, running in children.values():
                if running is not None:
                    running.stop()
                server.stop()
        return results

    def safe_measure(self, name: str, workload: str, metrics_log: bool = False) -> dict[str, Any]:
        try:
            result = self.measure(name, workload, metrics_log)
        except (BenchError, ValueError, KeyError) as exc:
            self.log(f"    {name:<11} {workload}: ERROR {exc}")
            return {"error": str(exc)}
        self.log(
            f"    {name:<11} {workload}{' (metrics on)' if metrics_log else ''}: "
            f"{_fmt_primary(workload, result)}"
        )
        return result


def _fmt_primary(workload: str, r: dict[str, Any]) -> str:
    if workload == "S1":
        return f"{r['items_per_s']:,.0f} items/s"
    if workload in ("S2", "S3"):
        return f"{r['mb_per_s']:,.0f} MB/s ({r['bytes_total'] / 2**20:,.0f} MiB in all)"
    if workload == "W3":
        return f"{r['mib_per_s']:.0f} MiB/s"
    extra = (
        f" (p50 {r['p50_us']:.0f} us, p99 {r['p99_us']:.0f} us)"
        if workload not in ("W4", "W4s")
        else ""
    )
    return f"{r['calls_per_s']:.0f} calls/s{extra}"


def rotate(items: list[str], k: int) -> list[str]:
    if not items:
        return items
    k %= len(items)
    return items[k:] + items[:k]


def run_w5(runner: Runner, pass_index: int) -> dict[str, Any]:
    """srpc W1 with the metrics log off and on: in alternating slices (``--slices``), or
    else in ABBA order (cancels linear drift).

    The order flips every pass. Without slices each side's rate is the best
    of its two legs (as ``timeit`` takes the best run): on a shared machine a
    whole leg can be slowed by someone else's work, which only ever lowers a rate.
    """
    a, b = ("off", "on") if pass_index % 2 == 0 else ("on", "off")
    if runner.opts.slices > 0:  # both servers at once, measured in alternating slices
        measured = runner.measure_interleaved([(a, SRPC, a == "on"), (b, SRPC, b == "on")], "W5")
        legs = [(a, measured[a]), (b, measured[b])]
    else:
        legs = [
            (leg, runner.safe_measure(SRPC, "W5", metrics_log=leg == "on")) for leg in (a, b, b, a)
        ]
    out: dict[str, Any] = {}
    for side in ("off", "on"):
        runs = [r for leg, r in legs if leg == side]
        errors = [r["error"] for r in runs if "error" in r]
        if errors:
            out[side] = {"error": errors[0], "legs": runs}
        else:
            out[side] = {
                "calls_per_s": max(r["calls_per_s"] for r in runs),
                "legs": runs,
            }
    out["order"] = [leg for leg, _ in legs]
    return out


def run_passes(
    runner: Runner, contestants: list[str], workloads: list[str]
) -> list[dict[str, Any]]:
    """All passes. Within a pass, workload by workload, every contestant in turn
    (so each one's ratio to the floor compares runs seconds apart); the
    contestants' order rotates by one every pass. W5 follows the W1 block.
    """
    opts = runner.opts
    # N1-N3 are not per contestant: bench.over_nats runs them after the passes
    main_workloads = [w for w in workloads if w != "W5" and w not in NATS_WORKLOADS]
    w5 = "W5" in workloads and SRPC in contestants
    blocks = list(main_workloads)
    if w5:
        blocks.insert(blocks.index("W1") + 1 if "W1" in blocks else 0, "W5")
    passes: list[dict[str, Any]] = []
    for p in range(opts.passes):
        order = rotate(list(contestants), p)
        runner.log(f"pass {p + 1}/{opts.passes}: {', '.join(order)}")
        results: dict[str, dict[str, Any]] = {c: {} for c in order}
        for w in blocks:
            if w == "W5":
                results[SRPC]["W5"] = run_w5(runner, p)
                continue
            runs = [c for c in order if CONTESTANTS[c].cannot_run(w) is None]
            if w in INTERLEAVED and opts.slices > 0:
                entries = [(c, c, False) for c in runs]
                for c, result in runner.measure_interleaved(entries, w).items():
                    results[c][w] = result
                continue
            for c in runs:
                results[c][w] = runner.safe_measure(c, w)
        passes.append({"order": order, "results": results})
    return passes


# --------------------------------------------------------------------------- summarising


def _values(passes: list[dict[str, Any]], c: str, w: str, key: str) -> list[float]:
    out = []
    for p in passes:
        r = p["results"].get(c, {}).get(w)
        if r and "error" not in r and key in r:
            out.append(float(r[key]))
    return out


def _per_pass_ratios(
    passes: list[dict[str, Any]], ratio: Callable[[dict[str, Any]], float | None]
) -> list[float]:
    out = []
    for p in passes:
        with contextlib.suppress(KeyError, TypeError, ZeroDivisionError):
            v = ratio(p["results"])
            if v is not None:
                out.append(v)
    return out


def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def summarise(
    passes: list[dict[str, Any]], contestants: list[str], workloads: list[str]
) -> dict[str, Any]:
    medians: dict[str, dict[str, float | None]] = {}
    ratios: dict[str, dict[str, float | None]] = {}
    for c in contestants:
        m: dict[str, float | None] = {}
        for w, key in PRIMARY.items():
            if w in workloads:
                m[w] = _median(_values(passes, c, w, key))
        if "W1" in workloads:
            m["W1_p50_us"] = _median(_values(passes, c, "W1", "p50_us"))
            m["W1_p99_us"] = _median(_values(passes, c, "W1", "p99_us"))
            m["W1_client_cpu_us"] = _median(_values(passes, c, "W1", "client_cpu_us_per_call"))
        if "W2" in workloads:
            m["W2_server_cores"] = _median(_values(passes, c, "W2", "server_cpu_cores"))
            m["W2_client_cpu_us"] = _median(_values(passes, c, "W2", "client_cpu_us_per_call"))
        medians[c] = m

        r: dict[str, float | None] = {}
        for w, key in PRIMARY.items():
            if w in workloads and FLOOR in contestants:

                def to_floor(res: dict[str, Any], c: str = c, w: str = w, key: str = key) -> float:
                    return float(res[c][w][key]) / float(res[FLOOR][w][key])

                r[w] = _median(_per_pass_ratios(passes, to_floor))
        if "S1" in workloads and GRPC in contestants:

            def to_grpc(res: dict[str, Any], c: str = c) -> float:
                return float(res[c]["S1"]["items_per_s"]) / float(res[GRPC]["S1"]["items_per_s"])

            r["S1grpc"] = _median(_per_pass_ratios(passes, to_grpc))
        if "W1" in workloads:

            def tail(res: dict[str, Any], c: str = c) -> float:
                return float(res[c]["W1"]["p99_us"]) / float(res[c]["W1"]["p50_us"])

            r["W1tail"] = _median(_per_pass_ratios(passes, tail))
        if c == SRPC and "W5" in workloads:
            r["W5"] = _median(
                _per_pass_ratios(
                    passes,
                    lambda res: (
                        res[SRPC]["W5"]["on"]["calls_per_s"] / res[SRPC]["W5"]["off"]["calls_per_s"]
                    ),
                )
            )
            m["W5_on"] = _median(
                [
                    p["results"][SRPC]["W5"]["on"]["calls_per_s"]
                    for p in passes
                    if "calls_per_s" in p["results"].get(SRPC, {}).get("W5", {}).get("on", {})
                ]
            )
            m["W5_off"] = _median(
                [
                    p["results"][SRPC]["W5"]["off"]["calls_per_s"]
                    for p in passes
                    if "calls_per_s" in p["results"].get(SRPC, {}).get("W5", {}).get("off", {})
                ]
            )
        ratios[c] = r

    targets = []
    for c in (x for x in contestants if x.startswith(SRPC)):
        for key, label, threshold in TARGETS:
            value = ratios[c].get(key)
            if key == "W5" and c != SRPC:
                continue
            if key not in ratios[c]:
                continue
            met = (
                None
                if value is None
                else (value <= threshold if key == "W1tail" else value >= threshold)
            )
            targets.append(
                {
                    "contestant": c,
                    "target": key,
                    "label": label,
                    "threshold": threshold,
                    "measured": value,
                    "met": met,
                }
            )
    return {"medians": medians, "ratios": ratios, "targets": targets}


# --------------------------------------------------------------------------- printing


def _table(headers: list[str], rows: Iterable[list[str]], align: str = "") -> str:
    """A plain text table; ``align`` has "l" or "r" per column (default: first left, rest right)."""
    align = align or "l" + "r" * (len(headers) - 1)
    rows = list(rows)
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(w) if align[i] == "l" else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def _num(v: float | None, fmt: str = "{:,.0f}") -> str:
    return "-" if v is None else fmt.format(v)


def render(
    summary: dict[str, Any],
    contestants: list[str],
    workloads: list[str],
    opts: Options,
    skipped: dict[str, str],
) -> str:
    med, rat = summary["medians"], summary["ratios"]
    parts: list[str] = []
    n = opts.passes
    cols: list[tuple[str, str, str]] = []  # (header, key, format)
    if "W1" in workloads:
        cols += [
            ("W1 calls/s", "W1", "{:,.0f}"),
            ("W1 p50 us", "W1_p50_us", "{:,.1f}"),
            ("W1 p99 us", "W1_p99_us", "{:,.1f}"),
            ("W1 client CPU us", "W1_client_cpu_us", "{:,.1f}"),
        ]
    if "W2" in workloads:
        cols += [
            (f"W2 calls/s ({opts.clients} procs)", "W2", "{:,.0f}"),
            ("W2 server cores", "W2_server_cores", "{:.2f}"),
            ("W2 client CPU us", "W2_client_cpu_us", "{:,.1f}"),
        ]
    if "W3" in workloads:
        cols.append(("W3 MiB/s", "W3", "{:,.0f}"))
    if "W4" in workloads:
        cols.append(("W4 calls/s", "W4", "{:,.0f}"))
    if "W4s" in workloads:
        cols.append(("W4s calls/s", "W4s", "{:,.0f}"))
    if "W6" in workloads:
        cols.append(("W6 MiB/s", "W6", "{:,.0f}"))
    if "S1" in workloads:
        cols.append(("S1 items/s", "S1", "{:,.0f}"))
    if "S2" in workloads:
        cols.append(("S2 MB/s", "S2", "{:,.0f}"))
    if "S3" in workloads:
        cols.append(("S3 MB/s", "S3", "{:,.0f}"))
    if cols:
        parts.append(f"Medians over {n} pass{'es' if n != 1 else ''}")
        parts.append(
            _table(
                ["contestant", *(h for h, _, _ in cols)],
                ([c, *(_num(med[c].get(k), f) for _, k, f in cols)] for c in contestants),
            )
        )
    rcols = [w for w in ("W1", "W2", "W3", "W4", "W4s", "W6", *STREAM_WORKLOADS) if w in workloads]
    if rcols and FLOOR in contestants:
        parts.append("")
        parts.append(
            "Ratio to the floor measured in the same pass (median over passes; higher is better)"
        )
        parts.append(
            _table(
                ["contestant", *rcols],
                ([c, *(_num(rat[c].get(w), "{:.2f}x") for w in rcols)] for c in contestants),
            )
        )
    if "S1" in workloads and GRPC in contestants:
        parts.append("")
        parts.append("S1 ratio to grpc measured in the same pass (median over passes)")
        parts.append(
            _table(
                ["contestant", "S1 / grpc"],
                ([c, _num(rat[c].get("S1grpc"), "{:.2f}x")] for c in contestants),
            )
        )
    if summary["targets"]:
        parts.append("")
        parts.append("Targets")
        rows = []
        for t in summary["targets"]:
            fmt = "{:.3f}" if t["target"] == "W5" else "{:.2f}x"
            state = "n/a" if t["met"] is None else ("met" if t["met"] else "MISSED")
            rows.append([t["contestant"], t["label"], _num(t["measured"], fmt), state])
        parts.append(_table(["contestant", "target", "measured", "status"], rows, "llrl"))
        if SRPC in med and med[SRPC].get("W5_on") is not None:
            parts.append(
                f"W5: srpc W1 calls/s with metrics log on {med[SRPC]['W5_on']:,.0f}, "
                f"off {_num(med[SRPC].get('W5_off'))}"
            )
    for name, why in skipped.items():
        parts.append(f"note: skipped {name}: {why}")
    for name, why in sat_out(contestants, workloads).items():
        parts.append(f"note: skipped {name}: {why}")
    return "\n".join(parts)


def sat_out(contestants: list[str], workloads: list[str]) -> dict[str, str]:
    """``"grpc for W4s"``-style keys for the workloads a contestant does not run, and why."""
    out = {}
    for c in contestants:
        for w in workloads:
            why = CONTESTANTS[c].cannot_run(w)
            if why is not None:
                out[f"{c} for {w}"] = why
    return out


# --------------------------------------------------------------------------- main


def _machine() -> dict[str, Any]:
    versions = {}
    for dist in ("srpc", "msgspec", "msgpack", "grpcio", "protobuf", "Pyro5", "rpyc"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[dist] = metadata.version(dist)
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "versions": versions,
    }


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Benchmark srpc against a plain-socket floor, grpcio, Pyro5 and RPyC.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one short pass, srpc and floor only, W1 only, a few hundred calls",
    )
    parser.add_argument("--contestants", help=f"comma list from {','.join(CONTESTANTS)}")
    parser.add_argument(
        "--workloads", help=f"comma list from {','.join(ALL_WORKLOADS)} (default: all)"
    )
    parser.add_argument(
        "--s3-mib",
        type=int,
        help=f"S3: MiB per upload (default {S3_UPLOAD // 2**20}; 1024 uploads the issue's 1 GiB "
        "in one go)",
    )
    parser.add_argument("--passes", type=int)
    parser.add_argument("--duration", type=float, help="seconds measured per client run")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up per client run")
    parser.add_argument("--clients", type=int, help="W2 client processes (default 8)")
    parser.add_argument(
        "--pin",
        choices=["same", "split", "none"],
        help="one-client workloads: server and client on the same CPU (default), "
        "on two CPUs, or left to the scheduler",
    )
    parser.add_argument(
        "--slices",
        type=int,
        help="W1, W3, W4, W4s, S1-S3: measure the contestants in this many alternating slices each "
        "(default 10; 0: one contestant after another)",
    )
    parser.add_argument("--results-dir", help=f"where the JSON goes (default {RESULTS_DIR})")
    args = parser.parse_args(argv)

    opts = Options()
    if args.quick:
        opts = Options(
            passes=1,
            duration_s=5.0,
            warmup_s=0.2,
            warmup_calls=50,
            max_calls=300,
            contestants=[SRPC, FLOOR],
            workloads=["W1"],
            quick=True,
            slices=0,  # 300 calls: too few to slice
        )
    if args.contestants:
        names = [c.strip() for c in args.contestants.split(",") if c.strip()]
        unknown = [c for c in names if c not in CONTESTANTS]
        if unknown:
            parser.error(
                f"unknown contestant(s) {', '.join(unknown)}; choose from {', '.join(CONTESTANTS)}"
            )
        opts.contestants = names
    if args.workloads:
        canonical = {w.upper(): w for w in ALL_WORKLOADS}
        ws = [canonical.get(w.strip().upper(), w.strip()) for w in args.workloads.split(",")]
        ws = [w for w in ws if w]
        bad = [w for w in ws if w not in ALL_WORKLOADS]
        if bad:
            parser.error(f"unknown workload(s) {', '.join(bad)}")
        opts.workloads = ws
    if args.passes is not None:
        opts.passes = args.passes
    if args.s3_mib is not None:
        if args.s3_mib < 1:
            parser.error("--s3-mib must be >= 1")
        opts.s3_mib = args.s3_mib
    if args.slices is not None:
        if args.slices < 0:
            parser.error("--slices must be >= 0")
        opts.slices = args.slices
    if args.duration is not None:
        opts.duration_s = args.duration
    if args.warmup is not None:
        opts.warmup_s = args.warmup
    if args.clients is not None:
        opts.clients = args.clients
    if args.pin:
        opts.pin = args.pin
    if args.results_dir:
        opts.results_dir = args.results_dir
    return opts


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    started = time.time()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    skipped: dict[str, str] = {}
    selected: list[Contestant] = []
    for name in opts.contestants:
        c = CONTESTANTS[name]
        missing = c.missing()
        if missing:
            skipped[name] = f"{', '.join(missing)} not installed (pip install -e '.[bench]')"
        else:
            selected.append(c)

    with tempfile.TemporaryDirectory(prefix="srpc-bench-") as tmp:
        workdir = Path(tmp)
        gen_dirs = {"srpc": workdir / "srpc_gen", "grpc": workdir / "grpc_gen"}
        generators = {"srpc": generate_srpc, "grpc": generate_grpc}
        failed_gen: dict[str, str] = {}
        for kind in sorted({c.needs for c in selected if c.needs}):
            try:
                generators[kind](gen_dirs[kind])
            except (GenerationFailed, OSError, subprocess.TimeoutExpired) as exc:
                failed_gen[kind] = str(exc)
        errors: dict[str, str] = {}
        for c in list(selected):
            if c.needs in failed_gen:
                errors[c.name] = f"code generation failed: {failed_gen[c.needs]}"
                selected.remove(c)
        for name, why in errors.items():
            log(f"error: {name}: {why}")

        env = {k: v for k, v in os.environ.items() if not k.startswith("SRPC_")}
        path = [str(REPO_ROOT), str(gen_dirs["srpc"]), str(SRPC_SERVICE_DIR), str(gen_dirs["grpc"])]
        if env.get("PYTHONPATH"):
            path.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(path)

        names = [c.name for c in selected]
        runner = Runner(opts, env, workdir, log)
        log(
            f"bench: {', '.join(names) or 'nothing'}; workloads {', '.join(opts.workloads)}; "
            f"{opts.passes} pass(es) of {opts.duration_s}s per run (+{opts.warmup_s}s warm-up)"
        )
        passes = run_passes(runner, names, opts.workloads) if names else []
    nats_workloads = tuple(w for w in opts.workloads if w in NATS_WORKLOADS)
    nats: dict[str, Any] | None = None
    if nats_workloads:
        nats_opts = NatsOptions(
            workloads=nats_workloads,
            passes=opts.passes,
            duration_s=opts.duration_s,
            warmup_s=opts.warmup_s,
            pin=opts.pin,
        )
        nats = run_nats_workloads(nats_opts, log)

    summary = summarise(passes, names, opts.workloads)
    finished = time.time()
    notes = [f"skipped {k}: {v}" for k, v in (skipped | sat_out(names, opts.workloads)).items()]
    notes += [f"error {k}: {v}" for k, v in errors.items()]
    from bench.contestants.floor import CODEC as floor_codec

    notes.append(f"floor codec: {floor_codec}")
    notes.append(f"W2 uses {opts.clients} client processes, each with its own connection")
    notes.append(f"CPU pinning of one-client workloads: {opts.pin} (W2 unpinned)")
    if opts.slices:
        notes.append(
            f"W1, W3, W4, W4s, S1-S3: every contestant measured in {opts.slices} alternating "
            f"slices of {opts.duration_s / opts.slices:.2f}s"
        )
    report = {
        "schema": 1,
        "started_utc": datetime.fromtimestamp(started, timezone.utc).isoformat(),
        "wall_s": round(finished - started, 1),
        "command": shlex.join(
            [Path(sys.executable).name, "-m", "bench.run", *(argv or sys.argv[1:])]
        ),
        "options": asdict(opts),
        "machine": _machine(),
        "contestants": {c.name: c.description for c in selected},
        "skipped": skipped,
        "errors": errors,
        "notes": notes,
        "passes": passes,
        **summary,
    }
    if nats is not None:
        report["nats"] = nats
    results_dir = Path(opts.results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromtimestamp(started, timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = results_dir / f"bench-{'quick-' if opts.quick else ''}{stamp}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")

    print()
    print(render(summary, names, opts.workloads, opts, skipped))
    if nats is not None:
        print()
        print(render_nats(nats))
    for k, v in errors.items():
        print(f"note: error {k}: {v}")
    print(
        f"note: floor codec {floor_codec}; W2 runs {opts.clients} client processes, unpinned; "
        f"W1/W3/W4/W4s/W5/S1-S3 server+client CPU pinning: {opts.pin}"
    )
    print(f"results: {out}  ({finished - started:.0f}s)")
    had_errors = bool(errors) or any(
        "error" in r for p in passes for c in p["results"].values() for r in _flat(c)
    )
    if nats is not None:
        had_errors = (
            had_errors or "error" in nats or any("error" in nats.get(w, {}) for w in nats_workloads)
        )
    return 1 if had_errors else 0


def _flat(results: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for key, r in results.items():
        if key == "W5":
            yield r["off"]
            yield r["on"]
        else:
            yield r


if __name__ == "__main__":
    sys.exit(main())
