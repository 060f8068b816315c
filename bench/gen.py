"""Code the contestants need, generated at bench time into a temp dir (never committed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
SRPC_SERVICE_DIR = BENCH_DIR / "srpc_service"
PROTO_DIR = BENCH_DIR / "proto"

__all__ = [
    "PROTO_DIR",
    "REPO_ROOT",
    "SRPC_SERVICE_DIR",
    "GenerationFailed",
    "generate_grpc",
    "generate_natsbench",
    "generate_srpc",
]


class GenerationFailed(RuntimeError):
    pass


def _run(argv: list[str], cwd: Path) -> None:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise GenerationFailed(
            f"{' '.join(argv)} exited {result.returncode}: "
            f"{(result.stderr or result.stdout).strip()[-2000:]}"
        )


def _stubgen() -> list[str]:
    script = Path(sys.executable).parent / "srpc-stubgen"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "srpc", "stubgen"]


def generate_srpc(out_dir: Path) -> None:
    """``srpc-stubgen benchsvc/benchsvc_interface.py --out-dir OUT`` in bench/srpc_service."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _run(
        [*_stubgen(), "benchsvc/benchsvc_interface.py", "--out-dir", str(out_dir)], SRPC_SERVICE_DIR
    )
    for name in ("srpc_benchsvc_server_stub.py", "srpc_benchsvc_client_stub.py"):
        if not (out_dir / name).exists():
            raise GenerationFailed(f"srpc-stubgen did not write {name}")


def generate_natsbench(out_dir: Path) -> None:
    """``srpc-stubgen natsbench/natsbench_interface.py --out-dir OUT`` (the N1-N3 service)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _run(
        [*_stubgen(), "natsbench/natsbench_interface.py", "--out-dir", str(out_dir)],
        SRPC_SERVICE_DIR,
    )
    for name in ("srpc_natsbench_server_stub.py", "srpc_natsbench_client_stub.py"):
        if not (out_dir / name).exists():
            raise GenerationFailed(f"srpc-stubgen did not write {name}")


def generate_grpc(out_dir: Path) -> None:
    """``grpc_tools.protoc`` on bench/proto/benchsvc.proto into OUT."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{PROTO_DIR}",
            f"--python_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            "benchsvc.proto",
        ],
        PROTO_DIR,
    )
