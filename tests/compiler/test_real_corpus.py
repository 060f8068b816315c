"""The real-interface corpus (tests/corpus/real, see its README): generate, check, call.

Every interface either generates stubs that are clean under mypy --strict and ruff and
whose every procedure round-trips through a real server, or is refused for the reason
listed in REFUSED below (each a construct srpc does not carry yet, or a source that is
incomplete). The figures are printed with ``-s``: interfaces, generated, clean, round trips.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from srpc.compiler import StubgenError
from tests.compiler.helpers import CORPUS
from tests.compiler.stubcheck import (
    generate_all,
    mypy_findings,
    round_trips,
    ruff_findings,
    write_packages,
)

REAL = CORPUS / "real"
SERVICES = sorted(p.name for p in REAL.iterdir() if (p / f"{p.name}_interface.py").is_file())

REFUSED = {
    "byte_store": "a stream is the whole annotation of the result or of one parameter",
    "bot_storage": "a return annotation on 'write'",
    "db_connector": "an alias of `Callable[[str, str], Awaitable[None]]` (a callable alias)",
    "error_transport": "Envelope is a plain class",
    "fsm_storage": "State is a plain class",
    "memo_core": "`threading.Condition`",
    "platform_dirs": "a property is read as an attribute",
    "requests_storage": "cannot be remote",
    "span_exporter": "ReadableSpan is a plain class",
    "study_storage": "FrozenStudy is a plain class",
    "user_db": "to subclass abc.ABC or typing.Protocol",
}


@pytest.fixture(scope="module")
def outcome(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, StubgenError | None]]:
    root = tmp_path_factory.mktemp("real")
    for service in SERVICES:
        shutil.copytree(REAL / service, root / service)
    write_packages(root, {service: {} for service in SERVICES})
    return root, generate_all(root, SERVICES)


def _generated(outcome: tuple[Path, dict[str, StubgenError | None]]) -> list[str]:
    return sorted(s for s, error in outcome[1].items() if error is None)


def test_the_corpus_has_at_least_30_interfaces_with_their_sources_recorded() -> None:
    assert len(SERVICES) >= 30
    readme = (REAL / "README.md").read_text(encoding="utf-8")
    for service in SERVICES:
        assert f"`{service}`" in readme, f"{service} is not in the corpus README"


def test_refusals_are_exactly_the_listed_ones_with_their_reasons(
    outcome: tuple[Path, dict[str, StubgenError | None]],
) -> None:
    refused = {s: str(e) for s, e in outcome[1].items() if e is not None}
    assert sorted(refused) == sorted(REFUSED), refused
    for service, fragment in REFUSED.items():
        assert fragment in refused[service], refused[service]
        assert f"{service}_interface.py:" in refused[service] or "/" in refused[service]


@pytest.mark.slow
def test_every_generated_stub_is_clean_under_mypy_strict_and_ruff(
    outcome: tuple[Path, dict[str, StubgenError | None]],
) -> None:
    root, _ = outcome
    generated = _generated(outcome)
    mypy, mypy_out = mypy_findings(root, generated)
    ruff, ruff_out = ruff_findings(root, generated)
    clean = [s for s in generated if s not in mypy and s not in ruff]
    print(
        f"\nreal corpus: {len(SERVICES)} interfaces, {len(generated)} generated, {len(clean)} clean"
    )
    assert mypy == {}, mypy_out
    assert ruff == {}, ruff_out


@pytest.mark.slow
def test_every_generated_stub_round_trips_through_a_real_server(
    outcome: tuple[Path, dict[str, StubgenError | None]],
) -> None:
    root, _ = outcome
    generated = _generated(outcome)
    results, log = round_trips(root, generated)
    passed = [s for s, problem in results.items() if problem is None]
    print(f"\nreal corpus: {len(passed)} of {len(generated)} generated round-trip")
    assert results == {s: None for s in generated}, log[-4000:]
