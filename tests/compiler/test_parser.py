"""Interface source in, ServiceModel out: valid and invalid sources side by side."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from srpc.compiler.errors import StubgenError
from srpc.compiler.model import ParamKind, ServiceModel
from srpc.compiler.parser import parse_interface_source, reserved_names


def parse(source: str, service: str = "calc") -> ServiceModel:
    return parse_interface_source(textwrap.dedent(source).lstrip(), service=service).model


def parse_error(source: str, service: str = "calc") -> str:
    with pytest.raises(StubgenError) as info:
        parse_interface_source(textwrap.dedent(source).lstrip(), service=service)
    return str(info.value)


CALC = """
    from abc import ABC, abstractmethod


    class CalcInterface(ABC):
        '''A calculator.'''

        @abstractmethod
        def add(self, a: int, b: int) -> int:
            '''Return a + b.'''

        @abstractmethod
        def div(self, a: int, b: int) -> float: ...
"""


def test_calc_procedures_in_source_order_with_names_and_docstrings() -> None:
    model = parse(CALC)
    assert model.name == "calc"
    assert model.interface_class == "CalcInterface"
    assert model.procedure_names == ("add", "div")
    assert model.client_stub_class == "SrpcCalcClientStub"
    assert model.async_client_stub_class == "SrpcCalcAsyncClientStub"
    assert model.server_stub_class == "SrpcCalcServerStub"
    assert model.client_stub_filename == "srpc_calc_client_stub.py"
    assert model.server_stub_filename == "srpc_calc_server_stub.py"
    assert model.interface_module == "calc.calc_interface"
    assert (model.impl_module, model.impl_class) == ("calc.calc", "Calc")
    assert model.source_path == "calc/calc_interface.py"
    assert model.docstring == "'''A calculator.'''"
    assert model.docstring_text == "A calculator."
    add = model.procedures[0]
    assert add.docstring == "'''Return a + b.'''"
    assert [(p.name, p.kind, p.annotation) for p in add.params] == [
        ("a", ParamKind.POSITIONAL_OR_KEYWORD, "int"),
        ("b", ParamKind.POSITIONAL_OR_KEYWORD, "int"),
    ]
    assert add.returns == "int"
    assert not add.is_async
    assert model.procedures[1].docstring is None


def test_snake_case_service_is_pascal_cased() -> None:
    model = parse(CALC.replace("CalcInterface", "MyCalcInterface"), service="my_calc")
    assert model.interface_class == "MyCalcInterface"
    assert model.client_stub_class == "SrpcMyCalcClientStub"
    assert model.impl_module == "my_calc.my_calc"
    assert model.impl_class == "MyCalc"


def test_every_parameter_kind_with_defaults_as_source_text() -> None:
    model = parse(
        """
        from abc import ABC, abstractmethod

        LIMIT = 3

        class CalcInterface(ABC):
            @abstractmethod
            async def f(
                this, a: int, b: int = 1, /, c: str = 'x', *args: float,
                d: bool, e: int = LIMIT  +  1, **kw: str,
            ) -> None: ...
        """
    )
    proc = model.procedures[0]
    assert proc.is_async
    assert proc.self_name == "this"
    assert [(p.name, p.kind, p.default) for p in proc.params] == [
        ("a", ParamKind.POSITIONAL_ONLY, None),
        ("b", ParamKind.POSITIONAL_ONLY, "1"),
        ("c", ParamKind.POSITIONAL_OR_KEYWORD, "'x'"),
        ("args", ParamKind.VAR_POSITIONAL, None),
        ("d", ParamKind.KEYWORD_ONLY, None),
        ("e", ParamKind.KEYWORD_ONLY, "LIMIT  +  1"),
        ("kw", ParamKind.VAR_KEYWORD, None),
    ]
    assert proc.parameter_sources == (
        "this",
        "a: int",
        "b: int = 1",
        "/",
        "c: str = 'x'",
        "*args: float",
        "d: bool",
        "e: int = LIMIT  +  1",
        "**kw: str",
    )
    assert proc.args_expr == "(a, b, c, *args)"
    assert proc.kwargs_expr == '{"d": d, "e": e, **kw}'
    assert proc.returns_none
    # LIMIT is needed by a default, so the stub imports it from the interface module.
    assert any(("LIMIT", None) in imp.names for imp in model.imports)


def test_bare_star_and_single_positional_call_shapes() -> None:
    model = parse(
        """
        from abc import ABC, abstractmethod

        class CalcInterface(ABC):
            @abstractmethod
            def f(self, a: int, *, k: int) -> int: ...

            @abstractmethod
            def g(self, result: int) -> int: ...
        """
    )
    f, g = model.procedures
    assert f.parameter_sources == ("self", "a: int", "*", "k: int")
    h = parse(
        "from abc import ABC, abstractmethod\n"
        "class CalcInterface(ABC):\n"
        "    @abstractmethod\n"
        "    def h(self, /, *, k: int) -> None: ...\n"
    ).procedures[0]
    assert h.parameter_sources == ("self", "/", "*", "k: int")
    assert f.args_expr == "(a,)"
    assert f.kwargs_expr == '{"k": k}'
    assert g.result_name == "result_"


@pytest.mark.parametrize(
    "header",
    [
        "import abc as a\nclass CalcInterface(a.ABC):\n    @a.abstractmethod",
        "from abc import ABCMeta, abstractmethod as am\n"
        "class CalcInterface(metaclass=ABCMeta):\n    @am",
        "import abc\nclass CalcInterface(abc.ABC):\n    @abc.abstractmethod",
        "from abc import ABC as Base, abstractmethod\n"
        "class CalcInterface(Base):\n    @abstractmethod",
    ],
)
def test_abc_and_abstractmethod_under_any_alias(header: str) -> None:
    model = parse(header + "\n    def add(self, a: int) -> int: ...\n")
    assert model.procedure_names == ("add",)


def test_non_abstract_methods_are_left_out_with_a_warning() -> None:
    parsed = parse_interface_source(
        textwrap.dedent(
            """
            from abc import ABC, abstractmethod

            class CalcInterface(ABC):
                def helper(self) -> int:
                    return 1

                @abstractmethod
                def add(self, a: int) -> int: ...
            """
        ).lstrip(),
        service="calc",
    )
    assert parsed.model.procedure_names == ("add",)
    (warning,) = parsed.warnings
    assert warning.location == "calc/calc_interface.py:4:5"
    assert "'helper'" in warning.format("warning")


def test_types_and_exceptions_the_module_defines_or_imports() -> None:
    model = parse(
        """
        import datetime as dt
        import enum
        from abc import ABC, abstractmethod
        from dataclasses import dataclass
        from decimal import Decimal
        from typing import NamedTuple, Optional, TypedDict

        import msgspec
        from .errors import QuotaError

        class Color(enum.Enum):
            RED = 1

        @dataclass
        class Point:
            x: int

        class Movie(TypedDict):
            title: str

        class Pair(NamedTuple):
            a: int

        class User(msgspec.Struct):
            name: str

        class Child(Point):
            pass

        class BadInput(ValueError):
            pass

        class CalcInterface(ABC):
            @abstractmethod
            def f(
                self, c: Color, p: Child, m: Movie, u: User, when: dt.datetime, d: Decimal
            ) -> Optional[Pair]: ...

            @abstractmethod
            def g(self, c: Child) -> QuotaError | None: ...
        """
    )
    assert set(model.data_types) == {"Color", "Point", "Movie", "Pair", "User", "Child"}
    assert set(model.exceptions) == {"BadInput", "QuotaError"}
    assert model.typing_spellings == ("typing.Optional",)
    imports = {(i.module, i.names, i.alias) for i in model.imports}
    assert ("datetime", (), "dt") in imports
    assert ("decimal", (("Decimal", None),), None) in imports
    assert ("typing", (("Optional", None),), None) in imports
    assert ("calc.errors", (("QuotaError", None),), None) in imports
    interface_import = next(i for i in model.imports if i.module == "calc.calc_interface")
    assert {n for n, _ in interface_import.names} == {
        "CalcInterface",
        "Child",
        "Color",
        "Movie",
        "Pair",
        "User",
    }


def test_names_inside_literal_and_annotated_metadata_are_imported() -> None:
    model = parse(
        """
        import enum
        from abc import ABC, abstractmethod
        from typing import Annotated, Literal

        import msgspec

        class Color(enum.Enum):
            RED = 1

        class CalcInterface(ABC):
            @abstractmethod
            def f(
                self, c: Literal[Color.RED], n: Annotated[int, msgspec.Meta(ge=0)]
            ) -> None: ...
        """
    )
    modules = {i.module for i in model.imports}
    assert {"msgspec", "typing", "calc.calc_interface"} <= modules
    interface_import = next(i for i in model.imports if i.module == "calc.calc_interface")
    assert ("Color", None) in interface_import.names


def test_imports_under_type_checking_and_try_fallbacks() -> None:
    model = parse(
        """
        from __future__ import annotations

        from abc import ABC, abstractmethod
        from typing import TYPE_CHECKING

        try:
            from typing import TypedDict
        except ImportError:
            from typing_extensions import TypedDict

        if TYPE_CHECKING:
            from decimal import Decimal

        class Movie(TypedDict):
            title: str

        class CalcInterface(ABC):
            @abstractmethod
            def f(self, m: Movie, d: Decimal) -> None: ...
        """
    )
    assert "Movie" in model.data_types
    modules = [i.module for i in model.imports]
    assert "decimal" in modules and "typing_extensions" not in modules


def test_future_annotations_and_forward_references() -> None:
    model = parse(
        """
        from __future__ import annotations
        from abc import ABC, abstractmethod

        class CalcInterface(ABC):
            @abstractmethod
            def wrap(self, v: int) -> Box: ...

            @abstractmethod
            def quoted(self, v: 'Box') -> list['Box']: ...

        from dataclasses import dataclass

        @dataclass
        class Box:
            v: int
        """
    )
    assert model.future_annotations
    assert model.procedures[1].params[0].annotation == "'Box'"


def test_no_procedure_name_is_reserved_but_dunders_and_srpc_private_names() -> None:
    assert reserved_names() == frozenset()
    model = parse(
        """
        from abc import ABC, abstractmethod

        class CalcInterface(ABC):
            @abstractmethod
            def close(self) -> None: ...
            @abstractmethod
            def start(self, at: int) -> int: ...
            @abstractmethod
            def stop(self) -> None: ...
            @abstractmethod
            def with_timeout(self, seconds: float) -> float: ...
        """
    )
    assert model.procedure_names == ("close", "start", "stop", "with_timeout")
    close, start, _, timeout = model.procedures
    assert not close.sync_override_ignore and not close.async_override_ignore
    assert not start.sync_override_ignore  # the client bases have no start()
    assert timeout.sync_override_ignore and timeout.async_override_ignore


# ---------------------------------------------------------------- invalid sources

H = "from abc import ABC, abstractmethod\n\n"
C = H + "class CalcInterface(ABC):\n    @abstractmethod\n"

INVALID = [
    pytest.param(
        H + "class CalcInterfac(ABC):\n    pass\n",
        "calc/calc_interface.py:3:1",
        ["expected class CalcInterface", "found classes CalcInterfac", "rename CalcInterfac"],
        id="class-misnamed",
    ),
    pytest.param(
        H + "x = 1\n",
        "calc/calc_interface.py:1:1",
        ["expected class CalcInterface", "no class at module level", "class CalcInterface(ABC)"],
        id="class-missing",
    ),
    pytest.param(
        H + "class CalcInterface:\n    @abstractmethod\n    def f(self) -> int: ...\n",
        "calc/calc_interface.py:3:1",
        ["subclass abc.ABC", "without a base class", "class CalcInterface(ABC):"],
        id="not-an-abc",
    ),
    pytest.param(
        H + "class CalcInterface(ABC):\n    def f(self) -> int: ...\n",
        "calc/calc_interface.py:3:1",
        ["at least one @abstractmethod", "no abstract methods", "decorate"],
        id="no-abstract-methods",
    ),
    pytest.param(
        C + "    def add(self, a: int): ...\n",
        "calc/calc_interface.py:5:9",
        ["return annotation on 'add'", "`-> None`", "def add(self, a: int) -> None:"],
        id="missing-return-annotation",
    ),
    pytest.param(
        C + "    def add(self, a, b: int) -> int: ...\n",
        "calc/calc_interface.py:5:19",
        ["annotation on every parameter", "parameter 'a' without a type", "`a: int`"],
        id="missing-param-annotation",
    ),
    pytest.param(
        "from ipaddress import IPv4Address\n"
        + C
        + "    def f(self, p: list[IPv4Address]) -> int: ...\n",
        "calc/calc_interface.py:6:25",
        ["supported type in parameter 'p' of 'f'", "found `IPv4Address`", "no codec"],
        id="unsupported-annotation",
    ),
    pytest.param(
        "from typing import Iterator\n" + C + "    def f(self) -> list[Iterator[int]]: ...\n",
        "calc/calc_interface.py:6:25",
        ["the return type of 'f'", "found `Iterator`", "the whole annotation"],
        id="stream-return",
    ),
    pytest.param(
        H + "class Point:\n    pass\n\n"
        "class CalcInterface(ABC):\n    @abstractmethod\n    def f(self, p: Point) -> int: ...\n",
        "calc/calc_interface.py:8:20",
        ["found `Point`", "a plain class, not a dataclass"],
        id="plain-class-annotation",
    ),
    pytest.param(
        C + "    def f(self, p: Point) -> int: ...\n",
        "calc/calc_interface.py:5:20",
        ["undefined name `Point`", "import Point"],
        id="undefined-name",
    ),
    pytest.param(
        C + "    def f(self, a: int -> int: ...\n",
        "calc/calc_interface.py:5:",
        ["valid Python source", "syntax error"],
        id="syntax-error",
    ),
    pytest.param(
        C + "    def _srpc_x(self) -> None: ...\n",
        "calc/calc_interface.py:5:9",
        ["'_srpc_x': names starting with _srpc belong to the generated stubs", "rename"],
        id="reserved-srpc-prefix",
    ),
    pytest.param(
        H + "class CalcInterface(ABC):\n"
        "    @abstractmethod\n    def add(self) -> None: ...\n\n"
        "    @abstractmethod\n    def add(self, a: int) -> None: ...\n",
        "calc/calc_interface.py:8:5",
        ["one method per name", "second method 'add' (the first is on line 5)"],
        id="duplicate-method",
    ),
    pytest.param(
        H + "class CalcInterface(ABC):\n    @staticmethod\n    @abstractmethod\n"
        "    def add(a: int) -> None: ...\n",
        "calc/calc_interface.py:4:5",
        ["decorated only with @abstractmethod", "@staticmethod"],
        id="staticmethod",
    ),
    pytest.param(
        "from typing import Callable\n"
        + C
        + "    def f(self, cb: list[Callable[[int], int]]) -> int: ...\n",
        "calc/calc_interface.py:6:26",
        ["found `Callable`", "the whole annotation of a procedure's parameter"],
        id="callable",
    ),
    pytest.param(
        "from typing import Callable\n"
        + C
        + "    def f(self, cb: Callable[..., int]) -> int: ...\n",
        "calc/calc_interface.py:6:30",
        ["parameter types of the callable", "`...`", "Callable[[int, str], int]"],
        id="callable-ellipsis",
    ),
    pytest.param(
        C + "    def f(self, x: 'Nope') -> int: ...\n",
        "calc/calc_interface.py:5:20",
        ["undefined name `Nope`"],
        id="undefined-forward-reference",
    ),
    pytest.param(
        "from typing import Any as SERVICE\n" + C + "    def f(self, x: SERVICE) -> int: ...\n",
        "calc/calc_interface.py:6:20",
        ["`SERVICE`, which the generated stubs use"],
        id="clashes-with-stub-names",
    ),
    pytest.param(
        C + "    def f() -> int: ...\n",
        "calc/calc_interface.py:5:5",
        ["instance method", "write `def f(self, ...)`"],
        id="no-self",
    ),
    pytest.param(
        C + "    def __call__(self) -> int: ...\n",
        "calc/calc_interface.py:5:9",
        ["'__call__': Python calls dunder methods itself", "rename '__call__'"],
        id="dunder",
    ),
]


@pytest.mark.parametrize(("source", "location", "fragments"), INVALID)
def test_invalid_interfaces_name_place_expectation_and_fix(
    source: str, location: str, fragments: list[str]
) -> None:
    message = parse_error(source)
    assert message.startswith(location), message
    assert ": error: expected " in message
    assert "; found " in message
    assert "\n  fix: " in message
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize(
    ("service", "fragment"),
    [("Calc", "lower-case Python identifier"), ("my-calc", "lower-case"), ("class", "lower")],
)
def test_service_name_must_be_a_lower_case_identifier(service: str, fragment: str) -> None:
    message = parse_error(CALC, service=service)
    assert fragment in message


def test_folder_must_match_the_service_name() -> None:
    with pytest.raises(StubgenError, match="folder named 'calc'"):
        parse_interface_source(CALC, service="calc", folder="wrong", path="wrong/calc_interface.py")


# ---------------------------------------------------------------- real-world shapes

REFUSED = [
    pytest.param(
        H + "class CalcInterface(ABC):\n    @property\n    @abstractmethod\n"
        "    def size(self) -> int: ...\n",
        "calc/calc_interface.py:4:5",
        ["@property on 'size'", "read as an attribute", "`def size(self) -> ...`"],
        id="abstract-property",
    ),
    pytest.param(
        H + "from contextlib import asynccontextmanager\n"
        "from typing import AsyncIterator\n\n"
        "class CalcInterface(ABC):\n    @asynccontextmanager\n    @abstractmethod\n"
        "    async def session(self) -> AsyncIterator[int]: ...\n",
        "calc/calc_interface.py:7:5",
        ["@asynccontextmanager on 'session'", "context manager", "two procedures"],
        id="asynccontextmanager",
    ),
    pytest.param(
        H + "from typing import Iterator\n\n"
        "class CalcInterface(ABC):\n    @abstractmethod\n"
        "    def watch(self) -> Iterator[int] | None: ...\n",
        "calc/calc_interface.py:7:24",
        ["found `Iterator`", "the whole annotation of the result or of one parameter"],
        id="stream-in-a-union",
    ),
    pytest.param(
        H + "from collections.abc import Iterator\n\n"
        "class CalcInterface(ABC):\n    @abstractmethod\n"
        "    def f(self, a: Iterator[int], b: Iterator[str]) -> int: ...\n",
        "calc/calc_interface.py:7:35",
        ["at most one streamed parameter in 'f'", "'b', a second one after 'a'"],
        id="two-streamed-parameters",
    ),
    pytest.param(
        H + "from collections.abc import Iterator\n\n"
        "class CalcInterface(ABC):\n    @abstractmethod\n"
        "    def f(self, *a: Iterator[int]) -> int: ...\n",
        "calc/calc_interface.py:7:17",
        ["one named parameter of 'f'", "`*a: Iterator[int]`", "`*a: int`"],
        id="streamed-star-args",
    ),
    pytest.param(
        H + "from collections.abc import Iterator\n\n"
        "class CalcInterface(ABC):\n    @abstractmethod\n"
        "    def f(self, a: Iterator[int] = iter(())) -> int: ...\n",
        "calc/calc_interface.py:7:36",
        ["no default on the streamed parameter 'a'", "passes `()`"],
        id="streamed-default",
    ),
    pytest.param(
        H + "from typing import Generator\n\n"
        "class CalcInterface(ABC):\n    @abstractmethod\n"
        "    def f(self) -> Generator[int, None, None]: ...\n",
        "calc/calc_interface.py:7:20",
        ["found `Generator`", "declare the stream as `Iterator[T]`", "may still be a generator"],
        id="generator",
    ),
    pytest.param(
        H + "from collections.abc import AsyncGenerator\n\n"
        "class CalcInterface(ABC):\n    @abstractmethod\n"
        "    def f(self) -> AsyncGenerator[int, None]: ...\n",
        "calc/calc_interface.py:7:20",
        ["found `AsyncGenerator`", "`AsyncIterator[T]`"],
        id="async-generator",
    ),
    pytest.param(
        H + "from collections.abc import AsyncIterable\n\n"
        "class CalcInterface(ABC):\n    @abstractmethod\n"
        "    def f(self, a: AsyncIterable[int]) -> int: ...\n",
        "calc/calc_interface.py:7:20",
        ["found `AsyncIterable`", "declare `AsyncIterator[T]` to stream"],
        id="async-iterable",
    ),
    pytest.param(
        H + "from collections.abc import AsyncIterator\n\n"
        "class CalcInterface(ABC):\n    @abstractmethod\n"
        "    async def tail(self, n: int) -> AsyncIterator[int]: ...\n",
        "calc/calc_interface.py:7:5",
        ["a plain `def` for 'tail'", "`def tail(self, n: int) -> AsyncIterator[int]`"],
        id="async-def-stream",
    ),
    pytest.param(
        H + "from collections.abc import Iterator\n\nclass Point:\n    pass\n\n"
        "class CalcInterface(ABC):\n    @abstractmethod\n"
        "    def f(self) -> Iterator[Point]: ...\n",
        "calc/calc_interface.py:10:29",
        ["the items of the return type of 'f'", "found `Point`", "a plain class"],
        id="stream-of-a-type-that-cannot-travel",
    ),
    pytest.param(
        H + "from collections.abc import Iterator\nfrom typing import overload\n\n"
        "class CalcInterface(ABC):\n    @overload\n    def f(self, a: int) -> Iterator[int]: ...\n"
        "    @overload\n    def f(self, a: str) -> Iterator[str]: ...\n"
        "    @abstractmethod\n    def f(self, a: int | str) -> Iterator[int | str]: ...\n",
        "calc/calc_interface.py:8:5",
        ["no @overload variants on 'f', which streams"],
        id="overloaded-stream",
    ),
    pytest.param(
        H + "from collections.abc import Sized\n\n"
        "class CalcInterface(Sized, ABC):\n    @abstractmethod\n"
        "    def get(self) -> int: ...\n",
        "calc/calc_interface.py:5:21",
        ["Sized, whose abstract __len__ cannot be remote", "`def size(self) -> int`"],
        id="sized-mixin",
    ),
    pytest.param(
        H + "from typing import overload\n\n"
        "class CalcInterface(ABC):\n    @overload\n    def get(self, k: int) -> int: ...\n"
        "    @overload\n    def get(self, k: str) -> str: ...\n",
        "calc/calc_interface.py:9:5",
        ["implementation signature after the @overload", "only @overload definitions"],
        id="overloads-without-implementation",
    ),
]


@pytest.mark.parametrize(("source", "location", "fragments"), REFUSED)
def test_refused_shapes_say_why(source: str, location: str, fragments: list[str]) -> None:
    message = parse_error(source)
    assert message.startswith(location), message
    for fragment in fragments:
        assert fragment in message, message


def test_sized_message_names_the_bases_without_stray_commas() -> None:
    message = parse_error(
        "from collections.abc import Sized\n\nclass CalcInterface(Sized, Iterable):\n    pass\n"
    )
    assert ",," not in message


def test_every_error_in_the_file_is_reported_in_one_run() -> None:
    message = parse_error(
        """
        from abc import ABC, abstractmethod
        from pathlib import Path
        from ipaddress import IPv4Address

        class CalcInterface(ABC):
            @abstractmethod
            def a(self, x) -> int: ...

            @abstractmethod
            def b(self, x: IPv4Address, y) -> int: ...

            @abstractmethod
            def c(self, x: int): ...

            @abstractmethod
            def __len__(self) -> int: ...

            @abstractmethod
            def ok(self, p: Path) -> None: ...
        """
    )
    lines = [line for line in message.splitlines() if ": error: " in line]
    assert [line.split(": error:")[0] for line in lines] == [
        "calc/calc_interface.py:7:17",
        "calc/calc_interface.py:10:20",
        "calc/calc_interface.py:10:33",
        "calc/calc_interface.py:13:9",
        "calc/calc_interface.py:16:9",
    ]
    assert message.endswith("5 errors")


@pytest.mark.parametrize("service", ["queue", "json", "srpc"])
def test_service_names_that_shadow_a_module_are_refused(service: str) -> None:
    source = CALC.replace("CalcInterface", f"{service.capitalize()}Interface")
    message = parse_error(source, service=service)
    assert "shadows the" in message and f"{service}_service/" in message


def test_stdlib_enums_and_abstract_collections_are_values() -> None:
    model = parse(
        """
        import socket
        from abc import ABC, abstractmethod
        from collections.abc import Iterable, Mapping
        from http import HTTPStatus
        from pathlib import Path

        class CalcInterface(ABC):
            @abstractmethod
            def f(self, a: HTTPStatus, b: socket.AddressFamily, c: Iterable[Path]) -> object: ...

            @abstractmethod
            def g(self, m: Mapping[str, int] = None) -> None: ...
        """
    )
    assert model.procedures[1].params[0].annotation == "Mapping[str, int] | None"


def test_self_and_callables_are_refused_with_the_reason() -> None:
    assert "cannot send or receive the service itself" in parse_error(
        H + "from typing import Self\n\nclass CalcInterface(ABC):\n    @abstractmethod\n"
        "    def f(self) -> Self: ...\n"
    )
    assert "a callback can only be the whole annotation" in parse_error(
        H + "from typing import Callable\n\nclass CalcInterface(ABC):\n    @abstractmethod\n"
        "    def f(self) -> Callable[[int], int]: ...\n"
    )


def test_python_312_syntax_parses_on_any_python() -> None:
    model = parse(
        """
        from abc import ABC, abstractmethod

        type Key = str

        class CalcInterface[T: int](ABC):
            @abstractmethod
            def get(self, key: Key) -> T: ...
        """
    )
    assert model.type_params == ("T",)
    assert model.type_var_defs == ('T = TypeVar("T", bound=int)',)


def test_project_modules_are_read_and_their_types_checked(tmp_path: Path) -> None:
    from srpc.compiler.parser import parse_interface

    (tmp_path / "calc").mkdir()
    (tmp_path / "calc" / "__init__.py").touch()
    (tmp_path / "calc" / "models.py").write_text(
        "from dataclasses import dataclass\n\nclass Plain:\n    pass\n\n"
        "@dataclass\nclass Box:\n    inner: Plain\n"
    )
    (tmp_path / "calc" / "calc_interface.py").write_text(
        H + "from calc.models import Box, Plain\n\nclass CalcInterface(ABC):\n"
        "    @abstractmethod\n    def f(self, b: Box) -> Plain: ...\n"
    )
    with pytest.raises(StubgenError) as info:
        parse_interface(tmp_path / "calc" / "calc_interface.py")
    places = [(Path(d.path).name, d.line) for d in info.value.diagnostics]
    assert ("calc_interface.py", 7) in places  # -> Plain: a plain class
    assert ("models.py", 8) in places  # Box.inner: a plain class
    assert all("a plain class" in d.found for d in info.value.diagnostics)


def test_an_abstract_dataclass_is_refused_since_subclasses_would_be_truncated() -> None:
    message = parse_error(
        """
        from abc import ABC, abstractmethod
        from dataclasses import dataclass

        @dataclass
        class Event(ABC):
            at: float

            @abstractmethod
            def kind(self) -> str: ...

        class CalcInterface(ABC):
            @abstractmethod
            def publish(self, event: Event) -> None: ...
        """
    )
    assert "calc/calc_interface.py:13:30" in message
    assert "abstract data type" in message and "without the subclass's own fields" in message


def test_inherited_procedures_follow_pythons_mro() -> None:
    model = parse(
        """
        from abc import ABC, abstractmethod

        class Resource(ABC):
            @abstractmethod
            def close_all(self) -> None: ...

            @abstractmethod
            def ping(self) -> int: ...

        class Reader(Resource):
            @abstractmethod
            def read(self) -> bytes: ...

        class Writer(Resource):
            def close_all(self) -> None:  # concrete here: not remote, as in Python's MRO
                pass

            @abstractmethod
            def write(self, data: bytes) -> None: ...

        class CalcInterface(Reader, Writer):
            @abstractmethod
            def flush(self) -> None: ...
        """
    )
    assert model.procedure_names == ("ping", "write", "read", "flush")


def test_a_data_type_with_a_subclass_is_refused_where_declared() -> None:
    message = parse_error(
        """
        from abc import ABC, abstractmethod
        from dataclasses import dataclass

        @dataclass
        class Event:
            at: float

        @dataclass
        class Click(Event):
            x: int

        class CalcInterface(ABC):
            @abstractmethod
            def publish(self, event: Event) -> Click: ...
        """
    )
    assert message.startswith("calc/calc_interface.py:14:30:")
    assert "Event has a subclass, Click in calc/calc_interface.py" in message
    assert "`Event | Click`" in message
    assert message.count(": error:") == 1  # the leaf Click is fine


def test_types_from_installed_packages_are_read_from_their_source_not_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from srpc.compiler.parser import parse_interface

    site = tmp_path / "site"
    (site / "fakelib").mkdir(parents=True)
    (site / "fakelib" / "__init__.py").write_text(
        "raise RuntimeError('stubgen must never import this')\n"
        "from fakelib._url import URL\nfrom fakelib._models import Point\n"
    )
    (site / "fakelib" / "_url.py").write_text("class URL:\n    pass\n")
    (site / "fakelib" / "_models.py").write_text(
        "from dataclasses import dataclass\n\n@dataclass\nclass Point:\n    x: int\n"
    )
    monkeypatch.syspath_prepend(str(site))
    project = tmp_path / "server"
    (project / "calc").mkdir(parents=True)
    (project / "calc" / "__init__.py").touch()
    interface = project / "calc" / "calc_interface.py"
    interface.write_text(
        H + "from fakelib import URL, Point\n\nclass CalcInterface(ABC):\n"
        "    @abstractmethod\n    def f(self, p: Point) -> URL: ...\n"
    )
    with pytest.raises(StubgenError) as info:
        parse_interface(interface)
    (diagnostic,) = info.value.diagnostics
    assert (Path(diagnostic.path).name, diagnostic.line, diagnostic.col) == (
        "calc_interface.py",
        7,
        30,
    )
    assert "URL is a plain class" in diagnostic.found


def test_enums_whose_values_cannot_travel_are_refused() -> None:
    source = """
        import enum
        from abc import ABC, abstractmethod

        class Pair(enum.Enum):
            A = (1, 2)
            B = "b"

        class Level(enum.IntEnum):
            LOW = 1
            HIGH = enum.auto()

        class CalcInterface(ABC):
            @abstractmethod
            def f(self, p: Pair, level: Level) -> None: ...
        """
    message = parse_error(source)
    assert "Pair's values are str and tuple" in message
    assert message.count(": error:") == 1  # Level's ints travel


# ---------------------------------------------------------------- streams (docs/STUBGEN.md)

STREAMS = """
    import collections.abc as cabc
    import typing as t
    from abc import ABC, abstractmethod
    from collections.abc import AsyncIterator as AIt
    from typing import Iterable, Iterator


    class CalcInterface(ABC):
        @abstractmethod
        def unary(self, xs: Iterable[int]) -> list[int]: ...

        @abstractmethod
        def count(self, n: int) -> Iterator[int]: ...

        @abstractmethod
        def tail(self, n: int) -> AIt[str]: ...

        @abstractmethod
        def total(self, n: int, /, values: cabc.Iterator[float], *, scale: int = 1) -> float: ...

        @abstractmethod
        async def atotal(self, *, values: t.AsyncIterator[int]) -> int: ...

        @abstractmethod
        def echo(self, values: Iterator[bytes]) -> cabc.AsyncIterator[bytes]: ...
"""


def test_streams_are_read_through_any_spelling_into_the_call_kind() -> None:
    from srpc.compiler.model import CallKind

    procs = {p.name: p for p in parse(STREAMS).procedures}
    kinds = {name: p.kind for name, p in procs.items()}
    assert kinds == {
        "unary": CallKind.UNARY,  # Iterable stays a collection
        "count": CallKind.SERVER_STREAM,
        "tail": CallKind.SERVER_STREAM,
        "total": CallKind.CLIENT_STREAM,
        "atotal": CallKind.CLIENT_STREAM,
        "echo": CallKind.BIDIRECTIONAL,
    }
    assert procs["count"].result_item == "int" and not procs["count"].result_async
    assert procs["tail"].result_item == "str" and procs["tail"].result_async
    total = procs["total"]
    assert total.stream_param is not None and total.stream_param.name == "values"
    assert total.stream_param.stream_item == "float"
    assert total.sync_parameter_sources == (
        "self", "n: int", "/", "values: Iterable[float]", "*", "scale: int = 1"
    )  # fmt: skip
    assert procs["atotal"].async_parameter_sources == (
        "self", "*", "values: Iterable[int] | AsyncIterable[int]"
    )  # fmt: skip
    assert procs["count"].sync_returns == "ResultStream[int]"
    assert procs["echo"].async_returns == "AsyncResultStream[bytes]"
    # An Iterator overrides cleanly; an AsyncIterator (result or parameter) cannot.
    ignores = {name: p.sync_override_ignore for name, p in procs.items()}
    assert ignores == {
        "unary": False, "count": False, "tail": True, "total": False, "atotal": True,
        "echo": True,
    }  # fmt: skip


def test_a_streaming_kind_changes_the_fingerprint_and_a_unary_one_keeps_it() -> None:
    from srpc.compiler.fingerprint import fingerprint
    from srpc.compiler.model import CallKind

    model = parse(STREAMS)
    unary = [p for p in model.procedures if p.kind is CallKind.UNARY]
    # The same unary procedure hashes as it did before streams existed (no "call" key).
    assert fingerprint("calc", unary) == (
        __import__("hashlib")
        .sha256(
            b'{"procedures":[{"async":false,"name":"unary","params":[["xs",'
            b'"positional-or-keyword","Iterable[int]",null]],"returns":"list[int]"}],'
            b'"service":"calc"}'
        )
        .hexdigest()
    )


def test_the_stream_classes_are_names_the_interface_cannot_take() -> None:
    message = parse_error(
        H + "from collections.abc import Iterator\nfrom mylib import ResultStream\n\n"
        "class CalcInterface(ABC):\n    @abstractmethod\n"
        "    def f(self) -> Iterator[ResultStream]: ...\n"
    )
    assert "which the generated stubs use" in message


def test_a_streamed_parameter_needs_iterable_free() -> None:
    message = parse_error(
        H + "from collections.abc import Iterator\nfrom mylib import Iterable\n\n"
        "class CalcInterface(ABC):\n    @abstractmethod\n"
        "    def f(self, a: Iterator[int], b: Iterable) -> int: ...\n"
    )
    assert "`Iterable` free for the client stubs' streamed parameters" in message


def test_a_quoted_stream_gives_a_quoted_item_and_errors_keep_their_place() -> None:
    model = parse(
        H + "from collections.abc import Iterator\nfrom typing import TYPE_CHECKING\n\n"
        "if TYPE_CHECKING:\n    from decimal import Decimal\n\n"
        "class CalcInterface(ABC):\n    @abstractmethod\n"
        "    def f(self, xs: 'Iterator[Decimal]') -> \"Iterator[Decimal]\": ...\n"
    )
    proc = model.procedures[0]
    assert proc.result_item == '"Decimal"' and proc.sync_returns == 'ResultStream["Decimal"]'
    assert proc.stream_param is not None and proc.stream_param.stream_item == '"Decimal"'
    message = parse_error(
        H + "from collections.abc import Iterator\n\nclass Point:\n    pass\n\n"
        "class CalcInterface(ABC):\n    @abstractmethod\n"
        "    def f(self) -> 'Iterator[Point]': ...\n"
    )
    assert message.startswith("calc/calc_interface.py:10:20"), message
    assert "the items of the return type of 'f'" in message and "a plain class" in message
