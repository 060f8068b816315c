"""Callback parameters in stubgen: what is accepted, the model, the refusals.

A parameter typed with another interface of the module (an ABC with abstract methods), or
with a ``Callable[[A, B], R]`` whose parameters and result are typed, is a callback. Its
methods are checked like procedures and are part of the model and of the fingerprint.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from srpc.compiler.errors import StubgenError
from srpc.compiler.model import (
    CallbackMethodModel,
    CallbackModel,
    ParamKind,
    ParamModel,
    ServiceModel,
)
from srpc.compiler.parser import parse_interface, parse_interface_source
from tests.compiler.helpers import CORPUS
from tests.compiler.stubcheck import generate_all, mypy_findings, ruff_findings, write_packages


def parse(source: str, service: str = "calc") -> ServiceModel:
    return parse_interface_source(textwrap.dedent(source).lstrip(), service=service).model


def errors(source: str) -> StubgenError:
    with pytest.raises(StubgenError) as info:
        parse_interface_source(textwrap.dedent(source).lstrip(), service="calc")
    return info.value


# -- accepted ----------------------------------------------------------------


def test_the_corpus_service_records_its_callbacks() -> None:
    path = CORPUS / "callbacks" / "callbacks_interface.py"
    model = parse(path.read_text(encoding="utf-8"), service="callbacks")
    procs = {p.name: p for p in model.procedures}
    assert model.has_callbacks

    (progress,) = procs["run"].callback_params
    assert (progress.name, progress.annotation) == ("progress", "Progress")
    assert progress.callback == CallbackModel(
        annotation="Progress",
        interface="Progress",
        methods=(
            CallbackMethodModel(
                "update",
                (
                    _param("done", "int", ParamKind.POSITIONAL_OR_KEYWORD),
                    _param("total", "int", ParamKind.POSITIONAL_OR_KEYWORD),
                ),
                "None",
                False,
            ),
            CallbackMethodModel("should_stop", (), "bool", False),
        ),
    )
    assert not progress.callback.is_callable

    (fn,) = procs["each"].callback_params
    assert fn.callback is not None and fn.callback.is_callable
    assert fn.callback.methods == (
        CallbackMethodModel("__call__", (_param("arg0", "int"),), "int", False),
    )

    (aprogress,) = procs["arun"].callback_params
    assert aprogress.callback is not None
    assert [(m.name, m.is_async) for m in aprogress.callback.methods] == [("update", True)]

    (afn,) = procs["amap"].callback_params
    assert afn.annotation == "Callable[[int], Awaitable[int]]"
    assert afn.callback is not None
    assert afn.callback.methods == (
        CallbackMethodModel("__call__", (_param("arg0", "int"),), "int", True),
    )

    (on_done,) = procs["notify"].callback_params
    assert on_done.kind is ParamKind.KEYWORD_ONLY
    assert procs["notify"].params[-1].callback is None  # times: int = 1

    # Plain parameters stay plain; the stub imports the callback interfaces it names.
    assert procs["run"].params[0].callback is None
    own = next(i for i in model.imports if i.module == "callbacks.callbacks_interface")
    assert {n for n, _ in own.names} >= {"AsyncProgress", "CallbacksInterface", "Progress"}


def _param(name: str, annotation: str, kind: ParamKind = ParamKind.POSITIONAL_ONLY) -> ParamModel:
    return ParamModel(name, kind, annotation)


def test_spellings_typing_coroutine_quoted_inherited_and_helpers() -> None:
    model = parse(
        """
        import typing
        from abc import ABC, abstractmethod
        from dataclasses import dataclass
        from typing import Any, Callable, Coroutine


        @dataclass
        class Step:
            n: int


        class Base(ABC):
            @abstractmethod
            def first(self, step: Step) -> None: ...


        class Events(Base):
            @abstractmethod
            async def second(self, ok: bool = True) -> str: ...

            def helper(self) -> None:
                '''Runs where the callback object lives; no warning.'''


        class CalcInterface(ABC):
            @abstractmethod
            def a(self, fn: Callable[[int, str], bool]) -> None: ...

            @abstractmethod
            async def b(self, fn: Callable[[], Coroutine[Any, Any, float]]) -> None: ...

            @abstractmethod
            def c(self, fn: typing.Callable[[list[int]], None], /) -> None: ...

            @abstractmethod
            def d(self, events: "Late", other: Events) -> None: ...


        class Late(ABC):
            @abstractmethod
            def ping(self) -> None: ...
        """
    )
    a, b, c, d = model.procedures
    assert a.params[0].callback is not None
    assert a.params[0].callback.methods[0] == CallbackMethodModel(
        "__call__", (_param("arg0", "int"), _param("arg1", "str")), "bool", False
    )
    assert b.params[0].callback is not None
    assert b.params[0].callback.methods[0] == CallbackMethodModel("__call__", (), "float", True)
    assert c.params[0].kind is ParamKind.POSITIONAL_ONLY
    assert c.params[0].callback is not None
    assert c.params[0].callback.methods[0].params == (_param("arg0", "list[int]"),)
    late, events = (p.callback for p in d.params)
    assert late is not None and events is not None
    assert (late.annotation, late.interface) == ('"Late"', "Late")
    # Inherited abstract methods count, in MRO source order; concrete helpers do not.
    assert [(m.name, m.is_async) for m in events.methods] == [("first", False), ("second", True)]
    assert events.methods[1].params[0].default == "True"
    # Step is only spelled by the callback's methods, which the stubs never repeat.
    own = next(i for i in model.imports if i.module == "calc.calc_interface")
    assert {n for n, _ in own.names} == {"CalcInterface", "Events", "Late"}


def test_a_callback_imported_from_a_sibling_module(tmp_path: Path) -> None:
    write_packages(
        tmp_path,
        {
            "calc": {
                "calc_interface.py": """
                    from abc import ABC, abstractmethod

                    from .events import Events


                    class CalcInterface(ABC):
                        @abstractmethod
                        def watch(self, events: Events) -> None: ...
                    """,
                "events.py": """
                    from abc import ABC, abstractmethod


                    class Events(ABC):
                        @abstractmethod
                        def changed(self, key: str, value: int) -> None: ...
                    """,
            }
        },
    )
    model = parse_interface(tmp_path / "calc" / "calc_interface.py").model
    (events,) = model.procedures[0].callback_params
    assert events.callback is not None
    assert [m.name for m in events.callback.methods] == ["changed"]


# -- refused -------------------------------------------------------------------

HEAD = """\
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator
from typing import Optional


class Progress(ABC):
    @abstractmethod
    def update(self, done: int) -> None: ...


"""

SERVICE = "class CalcInterface(ABC):\n    @abstractmethod\n"


def _case(method: str, at: str, fragments: list[str], *, head: str = HEAD, id: str) -> object:
    """A service with one procedure ``method``; the error is at the first ``at`` in it."""
    source = head + SERVICE + f"    {method}\n"
    lines = source.split("\n")
    line = len(lines) - 1
    col = lines[line - 1].index(at) + 1
    return pytest.param(source, f"calc/calc_interface.py:{line}:{col}", fragments, id=id)


def _in_head(head: str, at: str) -> tuple[int, int]:
    for number, text in enumerate(head.split("\n"), start=1):
        if at in text:
            return number, text.index(at) + 1
    raise AssertionError(at)


NESTED = "only be the whole annotation of a procedure's parameter"
BAD_CALLBACK = HEAD.replace(
    "\n\n\n",
    "\n\n\nclass Bad(ABC):\n"
    "    @abstractmethod\n    def on(self, p: Progress) -> None: ...\n\n"
    "    @abstractmethod\n    def feed(self, xs: Iterator[int]) -> None: ...\n\n"
    "    @abstractmethod\n    def items(self) -> Iterator[int]: ...\n\n"
    "    @abstractmethod\n"
    "    def sock(self, s: memoryview, t: object, u: Exception) -> None: ...\n\n"
    "    @abstractmethod\n    def missing(self, x) -> None: ...\n\n\n",
    1,
)

REFUSED = [
    _case(
        "def f(self, p: Progress) -> Iterator[int]: ...",
        "f(",
        ["'f' streams its result and takes a callback", "not supported on streaming"],
        id="streaming-result-with-a-callback",
    ),
    _case(
        "def f(self, xs: Iterator[int], fn: Callable[[int], int]) -> int: ...",
        "f(",
        ["'f' streams its argument and takes a callback"],
        id="streaming-argument-with-a-callback",
    ),
    _case("def f(self, p: list[Progress]) -> int: ...", "Progress]", [NESTED], id="in-list"),
    _case("def f(self, p: Optional[Progress]) -> int: ...", "Progress]", [NESTED], id="optional"),
    _case("def f(self, p: Progress | None) -> int: ...", "Progress", [NESTED], id="or-none"),
    _case(
        "def f(self, p: dict[str, Callable[[int], int]]) -> int: ...",
        "Callable",
        [NESTED, "a Callable"],
        id="callable-in-dict",
    ),
    _case(
        "def f(self) -> Progress: ...",
        "Progress",
        ["the return type of 'f'", NESTED, "Progress is an interface"],
        id="result",
    ),
    _case(
        "def f(self) -> Callable[[int], int]: ...",
        "Callable",
        ["the return type of 'f'", NESTED],
        id="callable-result",
    ),
    _case(
        "def f(self) -> Iterator[Progress]: ...",
        "Progress",
        ["the items of the return type of 'f'", NESTED],
        id="streamed-result",
    ),
    _case(
        "def f(self, ps: Iterator[Progress]) -> None: ...",
        "Progress]",
        ["the items of parameter 'ps' of 'f'", NESTED],
        id="streamed-argument",
    ),
    _case(
        "def f(self, fn: Callable[..., int]) -> None: ...",
        "...",
        ["parameter types of the callable", "`...`", "cannot check or encode"],
        id="ellipsis",
    ),
    _case(
        "def f(self, fn: Callable) -> None: ...",
        "Callable",
        ["typed parameters and result", "Callable[[int], int]"],
        id="bare-callable",
    ),
    _case(
        "def f(self, fn: Callable[[Progress], None]) -> None: ...",
        "Progress]",
        ["parameter 1 of the callable 'fn' of 'f'", "a callback passed to a callback", "nest"],
        id="callable-takes-a-callback",
    ),
    _case(
        "def f(self, fn: Callable[[Callable[[int], int]], None]) -> None: ...",
        "Callable[[int]",
        ["a callback passed to a callback"],
        id="callable-takes-a-callable",
    ),
    _case(
        "def f(self, fn: Callable[[int], Progress]) -> None: ...",
        "Progress]",
        ["the result of the callable 'fn' of 'f'", "a callback returned by a callback"],
        id="callable-returns-a-callback",
    ),
    _case(
        "def f(self, fn: Callable[[Iterator[int]], None]) -> None: ...",
        "Iterator",
        ["parameter 1 of the callable 'fn'", "a stream: a callback takes and returns whole"],
        id="callable-takes-a-stream",
    ),
    _case(
        "def f(self, fn: Callable[[int], memoryview | Exception]) -> None: ...",
        "Exception",
        ["the result of the callable 'fn' of 'f'", "found `Exception`"],
        id="callable-result-that-does-not-travel",
    ),
    _case(
        "async def f(self, fn: Callable[[int], Awaitable[int, str]]) -> None: ...",
        "Awaitable[int, str]",
        ["the result of an async callable", "`Awaitable[R]` or `Coroutine[Any, Any, R]`"],
        id="awaitable-of-two",
    ),
    _case(
        "def f(self, p: Watcher[int]) -> None: ...",
        "Watcher[int]",
        ["a callback interface without type arguments", "a generic callback interface"],
        head=HEAD.replace("import Optional", "import Generic, Optional, TypeVar")
        + 'T = TypeVar("T")\n\n\nclass Watcher(ABC, Generic[T]):\n    @abstractmethod\n'
        + "    def seen(self, item: T) -> None: ...\n\n\n",
        id="generic-callback-interface",
    ),
    _case(
        "def f(self, *ps: Progress) -> None: ...",
        "*ps",
        ["one named parameter of 'f'", "`*ps: Progress`, a callback per argument"],
        id="star-args",
    ),
    _case(
        "def f(self, **fns: Callable[[int], int]) -> None: ...",
        "**fns",
        ["`**fns: Callable[[int], int]`, a callback per argument"],
        id="star-kwargs",
    ),
    _case(
        "def f(self, p: Progress = None) -> None: ...",
        "None)",
        ["a callback the caller always passes", "optional callback"],
        id="default-none",
    ),
    _case(
        "def f(self, other: 'CalcInterface') -> None: ...",
        "'CalcInterface'",
        ["the service interface itself", "an interface of their own"],
        id="the-service-itself",
    ),
    _case(
        "def f(self, fn: Fn) -> None: ...",
        "Fn)",
        ["an alias of `Callable[[int], int]`", "write `fn: Callable[[int], int]`"],
        head=HEAD + "Fn = Callable[[int], int]\n\n\n",
        id="callable-alias",
    ),
]


@pytest.mark.parametrize(("source", "location", "fragments"), REFUSED)
def test_refusals_name_the_place_the_reason_and_the_fix(
    source: str, location: str, fragments: list[str]
) -> None:
    with pytest.raises(StubgenError) as info:
        parse_interface_source(source, service="calc")
    message = str(info.value)
    assert message.startswith(location + ": error: expected "), message
    assert "\n  fix: " in message
    for fragment in fragments:
        assert fragment in message, message


def test_a_callbacks_own_methods_are_checked_like_procedures_all_in_one_run() -> None:
    source = BAD_CALLBACK + SERVICE + "    def f(self, bad: Bad) -> None: ...\n"
    found = errors(source).diagnostics
    where = {(d.line, d.col): f"{d.expected}; found {d.found}" for d in found}
    on = _in_head(BAD_CALLBACK, "p: Progress")
    feed = _in_head(BAD_CALLBACK, "Iterator[int]) -> None")
    items = _in_head(BAD_CALLBACK, "Iterator[int]:")
    memory = _in_head(BAD_CALLBACK, "Exception) -> None")
    missing = _in_head(BAD_CALLBACK, "x) -> None")
    assert "a callback passed to a callback" in where[on]
    assert "method of the callback Bad" in where[on]
    assert "parameter 'xs' of 'Bad.feed'" in where[feed]
    assert "a stream: a callback takes and returns whole values" in where[feed]
    assert "the return type of 'Bad.items'" in where[items]
    assert "parameter 'u' of 'Bad.sock'" in where[memory]
    assert "parameter 'x' without a type" in where[missing]
    assert len(found) == 5, where


def test_every_refusal_of_one_file_is_reported_together() -> None:
    source = (
        HEAD
        + SERVICE
        + "    def f(self, p: list[Progress], fn: Callable[..., int]) -> Progress: ...\n\n"
        "    @abstractmethod\n    def g(self, *ps: Progress) -> None: ...\n"
    )
    assert len(errors(source).diagnostics) == 4


def test_a_callback_used_by_several_procedures_is_read_once() -> None:
    source = (
        BAD_CALLBACK
        + SERVICE
        + (
            "    def f(self, bad: Bad) -> None: ...\n\n"
            "    @abstractmethod\n    def g(self, bad: Bad) -> None: ...\n"
        )
    )
    assert len(errors(source).diagnostics) == 5


# -- the fingerprint -------------------------------------------------------------

FINGERPRINTED = """
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable


class Progress(ABC):
    @abstractmethod
    def update(self, done: int, total: int) -> None: ...

    @abstractmethod
    def should_stop(self) -> bool: ...


class CalcInterface(ABC):
    @abstractmethod
    def run(self, steps: int, progress: Progress) -> int: ...

    @abstractmethod
    def each(self, items: list[int], fn: Callable[[int], int]) -> list[int]: ...
"""


def _fingerprint(source: str) -> str:
    return parse(source).fingerprint


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(("done: int, total: int", "done: int, total: float"), id="param-type"),
        pytest.param(("done: int, total: int", "done: int, all: int"), id="param-name"),
        pytest.param(("done: int, total: int", "done: int, total: int = 1"), id="default"),
        pytest.param(("done: int, total: int", "done: int, /, total: int"), id="param-kind"),
        pytest.param(("done: int, total: int", "done: int"), id="param-removed"),
        pytest.param(("-> bool", "-> int"), id="result"),
        pytest.param(("def should_stop", "async def should_stop"), id="async"),
        pytest.param(("def should_stop", "def stop_now"), id="method-name"),
        pytest.param(
            (
                "    def should_stop(self) -> bool: ...\n",
                "    def should_stop(self) -> bool: ...\n"
                "\n    @abstractmethod\n    def extra(self) -> None: ...\n",
            ),
            id="method-added",
        ),
        pytest.param(("Callable[[int], int]", "Callable[[int], Awaitable[int]]"), id="callable"),
    ],
)
def test_changing_a_callback_changes_the_fingerprint(variant: tuple[str, str]) -> None:
    old, new = variant
    assert FINGERPRINTED.count(old) == 1
    assert _fingerprint(FINGERPRINTED.replace(old, new)) != _fingerprint(FINGERPRINTED)


def test_a_callbacks_docstrings_helpers_and_self_name_do_not_count() -> None:
    variant = FINGERPRINTED.replace(
        "    def should_stop(self) -> bool: ...\n",
        "    def should_stop(this) -> bool:\n        '''Asked before each step.'''\n\n"
        "    def helper(self) -> None: ...\n",
    )
    assert _fingerprint(variant) == _fingerprint(FINGERPRINTED)


def test_interfaces_without_callbacks_keep_their_fingerprint() -> None:
    # Computed before callbacks existed; the goldens and the example's stubs pin more.
    source = """
        from abc import ABC, abstractmethod


        class CalcInterface(ABC):
            @abstractmethod
            def add(self, a: int, b: int = 1, *, c: list[int] | None = None) -> int: ...

            @abstractmethod
            async def div(self, a: int, b: int) -> float: ...
    """
    assert _fingerprint(source) == (
        "4a14a86180e97dab7619290289d16017465ba23e4efcaa67e1012399b2603c5b"
    )


# -- the generated stubs -----------------------------------------------------------

STUBS: dict[str, dict[str, str]] = {
    # A generic base's type parameter in a callable, substituted (and so never imported);
    # overloads that take a callback; a generic service with a callable defaulting to `bool`.
    "cbgeneric": {
        "cbgeneric_interface.py": """
            from abc import ABC, abstractmethod
            from collections.abc import Callable
            from typing import Generic, TypeVar, overload

            T = TypeVar("T")


            class Base(ABC, Generic[T]):
                @abstractmethod
                def each(self, fn: Callable[[T], T]) -> list[T]: ...


            class CbgenericInterface(Base[int]):
                @overload
                def pick(self, fn: Callable[[int], int], n: int) -> int: ...
                @overload
                def pick(self, fn: Callable[[int], int], n: str) -> str: ...
                @abstractmethod
                def pick(self, fn: Callable[[int], int], n: int | str) -> int | str: ...
            """,
    },
    "cbself": {
        "cbself_interface.py": """
            from abc import ABC, abstractmethod
            from collections.abc import Callable
            from typing import Generic, TypeVar

            K = TypeVar("K")


            class CbselfInterface(ABC, Generic[K]):
                @abstractmethod
                def each(self, key: K, fn: Callable[[K], bool] = bool) -> bool: ...
            """,
    },
    # A callback interface imported only under TYPE_CHECKING, from a sibling module.
    "cbdeferred": {
        "cbdeferred_interface.py": """
            from __future__ import annotations

            from abc import ABC, abstractmethod
            from typing import TYPE_CHECKING

            if TYPE_CHECKING:
                from .events import Events


            class CbdeferredInterface(ABC):
                @abstractmethod
                def watch(self, events: Events) -> None: ...
            """,
        "events.py": """
            from abc import ABC, abstractmethod


            class Events(ABC):
                @abstractmethod
                def changed(self, key: str) -> None: ...
            """,
    },
    "cbtyping": {
        "cbtyping_interface.py": """
            import typing
            from abc import ABC, abstractmethod
            from typing import Any, Awaitable, Callable, Coroutine


            class Sink(ABC):
                @abstractmethod
                def put(self, item: "Item") -> None: ...


            class CbtypingInterface(ABC):
                @abstractmethod
                def a(self, fn: Callable[[int, str], bool], /, sink: "Sink") -> None: ...

                @abstractmethod
                async def b(self, fn: Callable[[], Coroutine[Any, Any, float]]) -> float: ...

                @abstractmethod
                def c(self, *, fn: typing.Callable[[list[int]], Awaitable[None]]) -> None: ...


            class Item(typing.NamedTuple):
                name: str
            """,
    },
    "cbfuture": {
        "cbfuture_interface.py": """
            from __future__ import annotations

            from abc import ABC, abstractmethod
            from collections.abc import Callable
            from dataclasses import dataclass


            @dataclass
            class Only:
                '''Spelled by the callback's method only: the stubs do not import it.'''

                x: int


            class CbfutureInterface(ABC):
                @abstractmethod
                def watch(self, events: Events, on_error: Callable[[str], None]) -> None: ...


            class Events(ABC):
                @abstractmethod
                async def changed(self, only: Only) -> None: ...
            """,
    },
}


def test_generated_stubs_with_callbacks_are_clean_under_mypy_and_ruff(tmp_path: Path) -> None:
    write_packages(tmp_path, STUBS)
    assert generate_all(tmp_path, sorted(STUBS)) == {s: None for s in STUBS}
    client = (tmp_path / "srpc_cbfuture_client_stub.py").read_text(encoding="utf-8")
    assert "Only" not in client
    assert "# `events` and `on_error` are callbacks: the server calls back" in client
    mypy, mypy_out = mypy_findings(tmp_path, sorted(STUBS))
    ruff, ruff_out = ruff_findings(tmp_path, sorted(STUBS))
    assert mypy == {}, mypy_out
    assert ruff == {}, ruff_out
