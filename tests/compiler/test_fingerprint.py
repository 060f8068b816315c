"""The interface fingerprint ignores formatting and comments, and sees what a peer would notice."""

from __future__ import annotations

import textwrap

import pytest

from srpc.compiler.parser import parse_interface_source

BASE = """
    from abc import ABC, abstractmethod


    class CalcInterface(ABC):
        @abstractmethod
        def add(self, a: int, b: int = 1, *, c: list[int] | None = None) -> int:
            '''Docstrings do not count.'''

        @abstractmethod
        def div(self, a: int, b: int) -> float: ...
"""


def fingerprint(source: str) -> str:
    model = parse_interface_source(textwrap.dedent(source).lstrip(), service="calc").model
    assert len(model.fingerprint) == 64
    int(model.fingerprint, 16)
    return model.fingerprint


SAME = [
    pytest.param(
        BASE.replace("a: int, b: int = 1", "a:int,b:int=1  # why\n        "), id="whitespace"
    ),
    pytest.param(BASE.replace("list[int] | None", "(list[ int ]|None)"), id="parentheses"),
    pytest.param(BASE.replace("Docstrings do not count.", "Other words."), id="docstring"),
    pytest.param(BASE.replace("(self,", "(this,"), id="self-name"),
    pytest.param(
        BASE.replace("import ABC, abstractmethod", "import abstractmethod, ABC"), id="imports"
    ),
    pytest.param(BASE + "\n    # a trailing comment\n", id="comment"),
]

DIFFERENT = [
    pytest.param(BASE.replace("def div", "def divide"), id="proc-name"),
    pytest.param(BASE.replace("b: int = 1", "bb: int = 1"), id="param-name"),
    pytest.param(BASE.replace("b: int = 1", "b: float = 1"), id="param-type"),
    pytest.param(BASE.replace("b: int = 1", "b: int = 2"), id="default"),
    pytest.param(BASE.replace("b: int = 1", "b: int"), id="default-removed"),
    pytest.param(BASE.replace(", *, c", ", c"), id="param-kind"),
    pytest.param(BASE.replace("-> float", "-> int"), id="return-type"),
    pytest.param(BASE.replace("def div", "async def div"), id="async"),
    pytest.param(
        BASE.replace("def add", "def xadd")
        .replace("def div", "def add")
        .replace("def xadd", "def div"),
        id="order",
    ),
]


@pytest.mark.parametrize("variant", SAME)
def test_fingerprint_is_stable_across_formatting(variant: str) -> None:
    assert fingerprint(variant) == fingerprint(BASE)


@pytest.mark.parametrize("variant", DIFFERENT)
def test_fingerprint_changes_with_what_a_peer_notices(variant: str) -> None:
    assert fingerprint(variant) != fingerprint(BASE)


def test_fingerprint_includes_the_service_name() -> None:
    other = parse_interface_source(
        textwrap.dedent(BASE).replace("CalcInterface", "AbacusInterface"), service="abacus"
    ).model.fingerprint
    assert other != fingerprint(BASE)


STREAMING = """
    from abc import ABC, abstractmethod
    from collections.abc import AsyncIterator, Iterator


    class CalcInterface(ABC):
        @abstractmethod
        def watch(self, n: int, values: list[int]) -> list[int]: ...
"""


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(STREAMING.replace("-> list[int]", "-> Iterator[int]"), id="server-stream"),
        pytest.param(STREAMING.replace("values: list", "values: Iterator"), id="client-stream"),
        pytest.param(
            STREAMING.replace("-> list[int]", "-> Iterator[int]").replace(
                "values: list", "values: Iterator"
            ),
            id="bidirectional",
        ),
        pytest.param(
            STREAMING.replace("-> list[int]", "-> AsyncIterator[int]"), id="async-server-stream"
        ),
    ],
)
def test_fingerprint_changes_with_what_streams(variant: str) -> None:
    assert fingerprint(variant) != fingerprint(STREAMING)


def test_every_call_kind_has_its_own_fingerprint() -> None:
    kinds = {
        fingerprint(STREAMING.replace("-> list[int]", "-> Iterator[int]")),
        fingerprint(STREAMING.replace("values: list", "values: Iterator")),
        fingerprint(
            STREAMING.replace("-> list[int]", "-> Iterator[int]").replace(
                "values: list", "values: Iterator"
            )
        ),
        fingerprint(STREAMING),
    }
    assert len(kinds) == 4
