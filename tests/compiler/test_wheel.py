"""The built wheel ships the templates: srpc-stubgen works from a fresh venv elsewhere."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.compiler.helpers import CALC, REPO


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.mark.slow
def test_installed_wheel_generates_stubs_outside_the_source_tree(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "build", "--wheel", "--outdir", dist, REPO, cwd=tmp_path)
    (wheel,) = dist.glob("srpc-*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel)
    work = tmp_path / "work"
    shutil.copytree(CALC.parent, work / "calc")
    done = _run(venv / "bin" / "srpc-stubgen", "calc/calc_interface.py", cwd=work)
    assert "wrote srpc_calc_client_stub.py" in done.stdout
    assert (work / "srpc_calc_server_stub.py").is_file()
    where = _run(
        python,
        "-c",
        "import srpc.compiler.render as r; print(r.templates_dir())",
        cwd=work,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where
    assert not Path(where).is_relative_to(REPO)
