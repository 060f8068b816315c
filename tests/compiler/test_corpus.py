"""Every corpus interface compiles to stubs that pass ruff and mypy --strict and keep signatures."""

from __future__ import annotations

import json
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from srpc.compiler import generate
from tests.compiler.helpers import CALC, CORPUS, REPO

SERVICES = sorted(p.name for p in CORPUS.iterdir() if (p / f"{p.name}_interface.py").is_file())


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All corpus packages and the calc example side by side, with their stubs beside them."""
    root = tmp_path_factory.mktemp("corpus")
    for service in SERVICES:
        shutil.copytree(CORPUS / service, root / service)
    shutil.copytree(CALC.parent, root / "calc")
    for service in [*SERVICES, "calc"]:
        generate(root / service / f"{service}_interface.py").write(root)
    return root


def _stubs(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob("srpc_*_stub.py"))


def test_corpus_is_a_set_of_real_packages_with_implementations() -> None:
    assert len(SERVICES) >= 15
    for service in SERVICES:
        assert (CORPUS / service / "__init__.py").is_file(), service
        assert (CORPUS / service / f"{service}.py").is_file(), service


def test_every_stub_is_written_and_compiles(generated: Path) -> None:
    stubs = _stubs(generated)
    assert len(stubs) == 2 * (len(SERVICES) + 1)
    for name in stubs:
        py_compile.compile(str(generated / name), doraise=True)


def test_ruff_finds_nothing_with_the_repo_config(generated: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--config",
            str(REPO / "pyproject.toml"),
            *_stubs(generated),
        ],
        cwd=generated,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_imports_are_sorted_in_a_user_folder_without_config(generated: Path) -> None:
    # Here the service packages are first-party and srpc is third-party: the other way round.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--extend-select",
            "I,F,W",
            *_stubs(generated),
        ],
        cwd=generated,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_finds_nothing_in_stubs_interfaces_and_implementations(
    generated: Path,
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(generated / ".mypy_cache"),
            *_stubs(generated),
        ],
        cwd=generated,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# The client methods keep the interface's signatures exactly, with one documented exception
# (docs/STUBGEN.md): where a call streams. A streamed parameter declared
# `Iterator[T]`/`AsyncIterator[T]` takes any `Iterable[T]` (the async stub's also an
# `AsyncIterable[T]`), and a streamed result is a `ResultStream[T]` (async stub:
# `AsyncResultStream[T]`, from a plain `def`: used in `async for` without `await`).
_SIGNATURES = """
import collections.abc as cabc, importlib, inspect, json, sys, typing
import srpc

STREAMS = (cabc.Iterator, cabc.AsyncIterator)


def streamed(annotation):
    if typing.get_origin(annotation) in STREAMS:
        return typing.get_args(annotation)[0]
    return None


def expected(want, asyn):
    # The interface's signature as the client stub must have it: streams replaced.
    params = []
    for p in want.parameters.values():
        item = streamed(p.annotation)
        if item is not None:
            iterable = cabc.Iterable[item]
            p = p.replace(annotation=iterable | cabc.AsyncIterable[item] if asyn else iterable)
        params.append(p)
    item = streamed(want.return_annotation)
    returns = want.return_annotation
    if item is not None:
        returns = (srpc.AsyncResultStream if asyn else srpc.ResultStream)[item]
    return want.replace(parameters=params, return_annotation=returns), item is not None


problems = []
for service in sys.argv[1:]:
    pascal = "".join(p[:1].upper() + p[1:] for p in service.split("_"))
    module = importlib.import_module(f"{service}.{service}_interface")
    interface = getattr(module, pascal + "Interface")
    client = importlib.import_module(f"srpc_{service}_client_stub")
    server = importlib.import_module(f"srpc_{service}_server_stub")
    sync = getattr(client, f"Srpc{pascal}ClientStub")
    asyn = getattr(client, f"Srpc{pascal}AsyncClientStub")
    abstract = sorted(interface.__abstractmethods__)
    if not issubclass(sync, interface) or sync.__abstractmethods__:
        problems.append([service, "sync stub is not a concrete subclass of the interface"])
    if sorted(client.SERVICE.procedures) != abstract or client.SERVICE != server.SERVICE:
        problems.append([service, "procedures", list(client.SERVICE.procedures), abstract])
    for name in abstract:
        declared = inspect.signature(getattr(interface, name))
        for stub in (sync, asyn):
            want, streams_result = expected(declared, stub is asyn)
            got = inspect.signature(getattr(stub, name))
            if got != want:
                problems.append([service, stub.__name__, name, str(want), str(got)])
        if inspect.getdoc(getattr(interface, name)) != inspect.getdoc(getattr(sync, name)):
            problems.append([service, "docstring", name])
        if inspect.iscoroutinefunction(getattr(asyn, name)) == streams_result:
            problems.append([service, "async stub method: async unless its result streams", name])
print(json.dumps(problems))
"""


def test_client_methods_have_the_interfaces_exact_signatures(generated: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SIGNATURES, *SERVICES, "calc"],
        cwd=generated,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_future_annotations_are_mirrored(generated: Path) -> None:
    text = (generated / "srpc_futures_client_stub.py").read_text()
    assert "\nfrom __future__ import annotations\n" in text
    assert "from __future__" not in (generated / "srpc_basic_client_stub.py").read_text()


def test_corpus_round_trips_through_the_runtime(generated: Path) -> None:
    script = Path(__file__).with_name("corpus_roundtrip.py")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import runpy; runpy.run_path({str(script)!r}, run_name='__main__')",
        ],
        cwd=generated,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "round trips ok" in done.stdout
