"""`srpc stubgen` / `srpc-stubgen`: what users type, what they see, what lands on disk."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from srpc.cli import app
from tests.compiler.helpers import BIN, CALC, write_interface
from tests.compiler.test_parser import INVALID

runner = CliRunner()

VALID = """
    from abc import ABC, abstractmethod


    class CalcInterface(ABC):
        @abstractmethod
        def add(self, a: int, b: int) -> int: ...

        def helper(self) -> None:
            pass
"""


@pytest.fixture
def in_tmp(tmp_path: Path) -> Iterator[Path]:
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


def stubgen(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["stubgen", *args])
    return result.exit_code, result.stdout, result.stderr


def test_writes_both_stubs_into_the_current_directory(in_tmp: Path) -> None:
    write_interface(in_tmp, VALID)
    code, out, err = stubgen("calc/calc_interface.py")
    assert code == 0, err
    assert "wrote srpc_calc_client_stub.py" in out
    assert "wrote srpc_calc_server_stub.py" in out
    assert (in_tmp / "srpc_calc_client_stub.py").is_file()
    assert (in_tmp / "srpc_calc_server_stub.py").is_file()
    assert "warning" in err and "'helper'" in err
    assert not [p for p in in_tmp.iterdir() if p.name.endswith(".tmp")]
    mode = (in_tmp / "srpc_calc_client_stub.py").stat().st_mode & 0o777
    plain = in_tmp / "plain.txt"
    plain.write_text("")
    assert mode == plain.stat().st_mode & 0o777


def test_out_dir(in_tmp: Path) -> None:
    write_interface(in_tmp, VALID)
    code, out, _ = stubgen("calc/calc_interface.py", "--out-dir", "gen/stubs")
    assert code == 0
    assert (in_tmp / "gen" / "stubs" / "srpc_calc_client_stub.py").is_file()
    assert str(Path("gen/stubs/srpc_calc_server_stub.py")) in out
    assert not (in_tmp / "srpc_calc_client_stub.py").exists()


def test_check_passes_when_up_to_date_and_names_the_stale_file(in_tmp: Path) -> None:
    path = write_interface(in_tmp, VALID)
    code, out, _ = stubgen("calc/calc_interface.py", "--check")
    assert code == 1  # nothing on disk yet
    assert stubgen("calc/calc_interface.py")[0] == 0
    code, out, _ = stubgen("calc/calc_interface.py", "--check")
    assert code == 0 and "up to date" in out
    path.write_text(path.read_text().replace("b: int) -> int", "b: float) -> int"))
    before = (in_tmp / "srpc_calc_client_stub.py").read_text()
    code, _, err = stubgen("calc/calc_interface.py", "--check")
    assert code == 1
    assert "srpc_calc_client_stub.py: out of date" in err
    assert "srpc-stubgen calc/calc_interface.py" in err
    assert (in_tmp / "srpc_calc_client_stub.py").read_text() == before


ERRORS = [
    ("missing/missing_interface.py", None, "no such file"),
    ("calc/calc.py", "x = 1\n", "a file named N_interface.py"),
    ("Calc/Calc_interface.py", "x = 1\n", "lower-case Python identifier"),
    ("wrong/calc_interface.py", "x = 1\n", "folder named 'calc'"),
    ("calc/calc_interface.py", "class CalcInterfac:\n    pass\n", "rename CalcInterfac"),
    ("calc/calc_interface.py", "def f(:\n", "syntax error"),
    (
        "calc/calc_interface.py",
        "from abc import ABC, abstractmethod\nclass CalcInterface(ABC):\n"
        "    @abstractmethod\n    def add(self, a: int): ...\n",
        "add `-> None`",
    ),
]


@pytest.mark.parametrize(("relpath", "source", "fragment"), ERRORS)
def test_errors_exit_1_with_a_located_message_and_write_nothing(
    in_tmp: Path, relpath: str, source: str | None, fragment: str
) -> None:
    if source is not None:
        target = in_tmp / relpath
        target.parent.mkdir(parents=True)
        target.write_text(source)
    code, _, err = stubgen(relpath)
    assert code == 1
    assert err.startswith(f"{relpath}:"), err
    assert ": error: expected " in err and "fix: " in err
    assert fragment in err
    assert not list(in_tmp.glob("srpc_*"))


def test_help_has_an_example() -> None:
    result = runner.invoke(app, ["stubgen", "--help"])
    assert result.exit_code == 0
    assert "srpc-stubgen calc/calc_interface.py" in result.stdout
    assert "--out-dir" in result.stdout and "--check" in result.stdout


def test_missing_argument_is_a_usage_error() -> None:
    assert runner.invoke(app, ["stubgen"]).exit_code == 2


def test_real_srpc_stubgen_process_on_the_calc_example(tmp_path: Path) -> None:
    shutil.copytree(CALC.parent, tmp_path / "calc")
    done = subprocess.run(
        [str(BIN / "srpc-stubgen"), "calc/calc_interface.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote srpc_calc_client_stub.py" in done.stdout
    client = (tmp_path / "srpc_calc_client_stub.py").read_text()
    assert "class SrpcCalcClientStub(SyncClient, CalcInterface):" in client
    (tmp_path / "calc" / "calc_interface.py").write_text("class Nope:\n    pass\n")
    failed = subprocess.run(
        [str(BIN / "srpc-stubgen"), "calc/calc_interface.py", "--check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 1
    assert failed.stderr.startswith(
        "calc/calc_interface.py:1:1: error: expected class CalcInterface"
    )


@pytest.mark.parametrize(("source", "location", "fragments"), INVALID)
def test_every_invalid_interface_fails_on_the_command_line(
    in_tmp: Path, source: str, location: str, fragments: list[str]
) -> None:
    (in_tmp / "calc").mkdir()
    (in_tmp / "calc" / "calc_interface.py").write_text(source)
    code, out, err = stubgen("calc/calc_interface.py")
    assert code == 1
    assert out == ""
    assert err.startswith(location), err
    for fragment in fragments:
        assert fragment in err
    assert not list(in_tmp.glob("srpc_*"))


def test_every_error_in_one_run_on_stderr_and_nothing_written(in_tmp: Path) -> None:
    write_interface(
        in_tmp,
        """
        from abc import ABC, abstractmethod
        from typing import Iterator


        class CalcInterface(ABC):
            @abstractmethod
            def a(self, x) -> int: ...

            @abstractmethod
            def b(self) -> Iterator[Iterator[int]]: ...

            @property
            @abstractmethod
            def c(self) -> int: ...
        """,
    )
    code, _out, err = stubgen("calc/calc_interface.py")
    assert code == 1
    assert "calc/calc_interface.py:7:17: error:" in err
    assert "calc/calc_interface.py:10:29: error:" in err and "whole annotation" in err
    assert "calc/calc_interface.py:12:5: error:" in err and "@property" in err
    assert "3 errors" in err
    assert not list(in_tmp.glob("srpc_*"))


def test_implicit_optional_is_a_warning_and_the_stub_says_optional(in_tmp: Path) -> None:
    write_interface(
        in_tmp,
        """
        from abc import ABC, abstractmethod


        class CalcInterface(ABC):
            @abstractmethod
            def put(self, key: str, ttl: int = None) -> None: ...

            @abstractmethod
            def close(self) -> None: ...
        """,
    )
    code, _out, err = stubgen("calc/calc_interface.py")
    assert code == 0, err
    assert "calc/calc_interface.py:6:29: warning: expected an Optional annotation" in err
    client = (in_tmp / "srpc_calc_client_stub.py").read_text()
    assert "def put(self, key: str, ttl: int | None = None) -> None:" in client
    assert "    def close(self) -> None:\n" in client
