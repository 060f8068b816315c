"""The frozen model of one service: all the templates see, with every derived name computed."""

from __future__ import annotations

import ast
import enum
import textwrap
from dataclasses import dataclass

__all__ = [
    "CallKind",
    "CallbackMethodModel",
    "CallbackModel",
    "ImportModel",
    "OverloadModel",
    "ParamKind",
    "ParamModel",
    "ProcedureModel",
    "ServiceModel",
    "pascal_case",
]


def pascal_case(service: str) -> str:
    """``calc`` -> ``Calc``, ``my_calc`` -> ``MyCalc``."""
    return "".join(part[:1].upper() + part[1:] for part in service.split("_"))


class ParamKind(enum.Enum):
    POSITIONAL_ONLY = "positional-only"
    POSITIONAL_OR_KEYWORD = "positional-or-keyword"
    VAR_POSITIONAL = "var-positional"
    KEYWORD_ONLY = "keyword-only"
    VAR_KEYWORD = "var-keyword"


class CallKind(enum.Enum):
    """What streams in a call (docs/STUBGEN.md): nothing, the result, one argument, or both."""

    UNARY = "unary"
    SERVER_STREAM = "server-stream"
    CLIENT_STREAM = "client-stream"
    BIDIRECTIONAL = "bidirectional"


@dataclass(frozen=True)
class CallbackMethodModel:
    """One method of a callback: what the server may call back in the caller.

    A ``Callable[[A, B], R]`` has one, named ``__call__``, whose parameters are
    positional-only and named ``arg0``, ``arg1``, ...; a ``Callable[..., Awaitable[R]]``
    (or ``Coroutine[Any, Any, R]``) is async with ``returns`` the text of ``R``.
    """

    name: str
    params: tuple[ParamModel, ...]
    """The parameters after ``self``, as the callback declares them."""
    returns: str
    """The text of the result type (of ``R`` for an async callable)."""
    is_async: bool


@dataclass(frozen=True)
class CallbackModel:
    """A callback parameter's type: another interface of the module, or a typed Callable."""

    annotation: str
    """The parameter's annotation as written (``Progress``, ``Callable[[int], int]``)."""
    interface: str | None
    """The callback interface's class name, or ``None`` for a ``Callable``."""
    methods: tuple[CallbackMethodModel, ...]
    """The interface's abstract methods in source order (a Callable's one ``__call__``)."""

    @property
    def is_callable(self) -> bool:
        return self.interface is None


@dataclass(frozen=True)
class ParamModel:
    """A parameter of a procedure; ``annotation`` and ``default`` are source text."""

    name: str
    kind: ParamKind
    annotation: str
    default: str | None = None
    stream_item: str | None = None
    """A streamed argument (``Iterator[T]``/``AsyncIterator[T]``): the text of ``T``."""
    stream_async: bool = False
    """The interface declares it ``AsyncIterator[T]``."""
    callback: CallbackModel | None = None
    """A callback parameter: the caller passes a local object or function."""

    def client_source(self, *, async_stub: bool) -> str:
        """The parameter in a client stub: a streamed one takes any iterable of its items
        (the async stub's also an async iterable); the others are as the interface has them."""
        if self.stream_item is None:
            return self.source
        item = self.stream_item
        annotation = f"Iterable[{item}]"
        if async_stub:
            annotation += f" | AsyncIterable[{item}]"
        return f"{self.name}: {annotation}"

    @property
    def source(self) -> str:
        """The parameter as written in a ``def`` (without the ``/`` and ``*`` markers)."""
        star = {ParamKind.VAR_POSITIONAL: "*", ParamKind.VAR_KEYWORD: "**"}.get(self.kind, "")
        text = f"{star}{self.name}: {self.annotation}"
        if self.default is not None:
            text += f" = {self.default}"
        return text


@dataclass(frozen=True)
class OverloadModel:
    """One ``@overload`` signature of a procedure, carried into the client stubs for typing."""

    parameter_sources: tuple[str, ...]
    returns: str


@dataclass(frozen=True)
class ProcedureModel:
    """One remote procedure: an ``@abstractmethod`` of the interface."""

    name: str
    self_name: str
    params: tuple[ParamModel, ...]
    returns: str
    is_async: bool
    docstring: str | None
    """The docstring literal exactly as written in the interface, or ``None``."""
    line: int
    self_positional_only: bool = False
    """``def f(self, /, ...)``: the ``/`` follows ``self``."""
    overloads: tuple[OverloadModel, ...] = ()
    returns_any: bool = False
    """The return annotation is ``Any``: an ``async def`` then overrides cleanly."""
    result_item: str | None = None
    """The result streams (``Iterator[T]``/``AsyncIterator[T]``): the text of ``T``."""
    result_async: bool = False
    """The interface declares the result ``AsyncIterator[T]``."""

    @property
    def callback_params(self) -> tuple[ParamModel, ...]:
        """The callback parameters, in order."""
        return tuple(p for p in self.params if p.callback is not None)

    @property
    def callback_note(self) -> tuple[str, ...]:
        """Comment lines for the client stubs' method: which arguments are callbacks."""
        names = [f"`{p.name}`" for p in self.callback_params]
        if not names:
            return ()
        which = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        verb = "is a callback" if len(names) == 1 else "are callbacks"
        text = f"{which} {verb}: the server calls back into this process while the call runs."
        return tuple(f"# {line}" for line in textwrap.wrap(text, width=88))

    @property
    def stream_param(self) -> ParamModel | None:
        """The one streamed parameter, or None."""
        return next((p for p in self.params if p.stream_item is not None), None)

    @property
    def kind(self) -> CallKind:
        streams_in = self.stream_param is not None
        if self.result_item is not None:
            return CallKind.BIDIRECTIONAL if streams_in else CallKind.SERVER_STREAM
        return CallKind.CLIENT_STREAM if streams_in else CallKind.UNARY

    @property
    def streams_result(self) -> bool:
        return self.result_item is not None

    @property
    def sync_returns(self) -> str:
        """The sync stub's return annotation: a ``ResultStream[T]`` for a streamed result."""
        return self.returns if self.result_item is None else f"ResultStream[{self.result_item}]"

    @property
    def async_returns(self) -> str:
        """The async stub's: an ``AsyncResultStream[T]`` for a streamed result."""
        if self.result_item is None:
            return self.returns
        return f"AsyncResultStream[{self.result_item}]"

    @property
    def sync_parameter_sources(self) -> tuple[str, ...]:
        return self._sources(async_stub=False)

    @property
    def async_parameter_sources(self) -> tuple[str, ...]:
        return self._sources(async_stub=True)

    def _sources(self, *, async_stub: bool) -> tuple[str, ...]:
        sources = self.parameter_sources
        if self.stream_param is None:
            return sources
        by_source = {p.source: p.client_source(async_stub=async_stub) for p in self.params}
        return tuple(by_source.get(s, s) for s in sources)

    @property
    def sync_override_ignore(self) -> bool:
        """Whether the sync stub's method needs ``# type: ignore[override]`` under mypy.

        ``ResultStream[T]`` is an ``Iterator[T]`` and ``Iterable[T]`` accepts every
        ``Iterator[T]``, so sync streams override cleanly; an ``AsyncIterator`` (result or
        parameter) does not, and neither does an ``async def``.
        """
        if self.is_async and not self.returns_any:
            return True
        if self.result_async or any(p.stream_async for p in self.params):
            return True
        return self._clashes_with_client_base()

    @property
    def async_override_ignore(self) -> bool:
        """Whether the async stub's method needs ``# type: ignore[override]`` under mypy."""
        return self._clashes_with_client_base()

    def _clashes_with_client_base(self) -> bool:
        # The client bases' public methods: close(self) -> None, with_timeout(self, seconds).
        if self.name == "with_timeout":
            return True
        if self.name == "close":
            required = any(
                p.default is None
                and p.kind not in (ParamKind.VAR_POSITIONAL, ParamKind.VAR_KEYWORD)
                for p in self.params
            )
            return required or not self.returns_none or self.streams_result
        return False

    @property
    def parameter_sources(self) -> tuple[str, ...]:
        """The ``def`` parameter list, ``self`` first, with ``/`` and ``*`` where needed."""
        out = [self.self_name]
        kinds = [p.kind for p in self.params]
        if self.self_positional_only and ParamKind.POSITIONAL_ONLY not in kinds:
            out.append("/")
        for i, param in enumerate(self.params):
            if (
                param.kind is ParamKind.KEYWORD_ONLY
                and ParamKind.VAR_POSITIONAL not in kinds
                and (i == 0 or self.params[i - 1].kind is not ParamKind.KEYWORD_ONLY)
            ):
                out.append("*")
            out.append(param.source)
            if param.kind is ParamKind.POSITIONAL_ONLY and (
                i + 1 == len(self.params)
                or self.params[i + 1].kind is not ParamKind.POSITIONAL_ONLY
            ):
                out.append("/")
        return tuple(out)

    @property
    def returns_none(self) -> bool:
        return self.returns == "None"

    @property
    def args_expr(self) -> str:
        """The positional arguments as a tuple expression (``*args`` expanded last)."""
        items = [
            p.name
            for p in self.params
            if p.kind in (ParamKind.POSITIONAL_ONLY, ParamKind.POSITIONAL_OR_KEYWORD)
        ]
        items += [f"*{p.name}" for p in self.params if p.kind is ParamKind.VAR_POSITIONAL]
        if not items:
            return "()"
        if len(items) == 1:
            return f"({items[0]},)"
        return "(" + ", ".join(items) + ")"

    @property
    def kwargs_expr(self) -> str:
        """The keyword arguments as a dict expression (``**kwargs`` merged last)."""
        items = [f'"{p.name}": {p.name}' for p in self.params if p.kind is ParamKind.KEYWORD_ONLY]
        items += [f"**{p.name}" for p in self.params if p.kind is ParamKind.VAR_KEYWORD]
        return "{" + ", ".join(items) + "}"

    @property
    def result_annotation(self) -> str:
        """The return type for the local ``result`` variable: never evaluated, so unquoted."""
        if "'" not in self.returns and '"' not in self.returns:
            return self.returns
        return _unquoted(self.returns)

    @property
    def result_name(self) -> str:
        """A local name for the result that no parameter shadows."""
        taken = {p.name for p in self.params} | {self.self_name}
        name = "result"
        while name in taken:
            name += "_"
        return name


@dataclass(frozen=True)
class ImportModel:
    """One import a stub needs: ``import module [as alias]`` or ``from module import ...``."""

    module: str
    names: tuple[tuple[str, str | None], ...] = ()
    """``(name, alias)`` pairs; empty for ``import module``."""
    alias: str | None = None
    type_checking: bool = False
    """Imported only for type checkers (the interface imports it under ``TYPE_CHECKING``)."""

    @property
    def is_from(self) -> bool:
        return bool(self.names)

    @property
    def top_module(self) -> str:
        return self.module.split(".")[0]


@dataclass(frozen=True)
class ServiceModel:
    """A service as the templates see it."""

    name: str
    interface_class: str
    source_path: str
    """The interface file relative to the stub's folder, e.g. ``calc/calc_interface.py``."""
    source_sha256: str
    srpc_version: str
    fingerprint: str
    procedures: tuple[ProcedureModel, ...]
    docstring: str | None
    """The interface class's docstring literal as written, or ``None``."""
    docstring_text: str | None
    """The cleaned text of that docstring, for the stub module's docstring."""
    future_annotations: bool
    imports: tuple[ImportModel, ...]
    """What the annotations and defaults need, besides the interface class itself."""
    typing_spellings: tuple[str, ...]
    """Old ``typing`` spellings the annotations use (``typing.List``, ``typing.Optional``)."""
    exceptions: tuple[str, ...]
    """Exception classes the interface module defines or imports."""
    data_types: tuple[str, ...]
    """Data types (dataclass, TypedDict, NamedTuple, Enum, msgspec.Struct) it defines."""
    type_params: tuple[str, ...] = ()
    """The interface's type parameters (``Generic[K, V]``): the stubs are generic in them."""
    type_var_defs: tuple[str, ...] = ()
    """TypeVar definitions the stub writes itself (for ``class XInterface[T]`` syntax)."""
    deferred_names: tuple[tuple[str, str, str], ...] = ()
    """Names the annotations use that the interface imports only under ``TYPE_CHECKING``:
    ``(name, module, attribute)``, attribute ``""`` for ``import module as name``."""
    extra_noqa: tuple[str, ...] = ()
    """ruff rules the verbatim annotations trip besides the typing spellings (UP037)."""
    bare_generics: bool = False
    """The annotations name generics without arguments (``dict``), as the interface does."""
    base_clash: bool = False
    """The interface defines a concrete ``close``/``with_timeout`` that conflicts with the
    sync client base's; ``srpc.close(stub)`` still reaches the stub's own."""

    @property
    def pascal(self) -> str:
        return pascal_case(self.name)

    @property
    def generic_args(self) -> str:
        """``[K, V]`` for a generic interface, else ``""``."""
        return f"[{', '.join(self.type_params)}]" if self.type_params else ""

    @property
    def any_args(self) -> str:
        """``[Any, Any]`` for a generic interface (the server serves any instance), else ``""``."""
        return f"[{', '.join('Any' for _ in self.type_params)}]" if self.type_params else ""

    @property
    def streams_results(self) -> bool:
        """Some procedure's result streams: the client stub names the stream classes."""
        return any(p.result_item is not None for p in self.procedures)

    @property
    def streams_arguments(self) -> bool:
        """Some procedure streams an argument: the client stub names ``Iterable``."""
        return any(p.stream_param is not None for p in self.procedures)

    @property
    def has_callbacks(self) -> bool:
        """Some procedure takes a callback parameter."""
        return any(p.callback_params for p in self.procedures)

    @property
    def has_overloads(self) -> bool:
        return any(p.overloads for p in self.procedures)

    @property
    def type_checking_imports(self) -> tuple[ImportModel, ...]:
        return tuple(i for i in self.imports if i.type_checking)

    @property
    def runtime_imports(self) -> tuple[ImportModel, ...]:
        return tuple(i for i in self.imports if not i.type_checking)

    @property
    def interface_module(self) -> str:
        return f"{self.name}.{self.name}_interface"

    @property
    def impl_module(self) -> str:
        return f"{self.name}.{self.name}"

    @property
    def impl_class(self) -> str:
        return self.pascal

    @property
    def client_stub_class(self) -> str:
        return f"Srpc{self.pascal}ClientStub"

    @property
    def async_client_stub_class(self) -> str:
        return f"Srpc{self.pascal}AsyncClientStub"

    @property
    def server_stub_class(self) -> str:
        return f"Srpc{self.pascal}ServerStub"

    @property
    def client_stub_filename(self) -> str:
        return f"srpc_{self.name}_client_stub.py"

    @property
    def server_stub_filename(self) -> str:
        return f"srpc_{self.name}_server_stub.py"

    @property
    def procedure_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.procedures)


class _Unquote(ast.NodeTransformer):
    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, str):
            try:
                inner: ast.AST = self.visit(ast.parse(node.value, mode="eval").body)
            except SyntaxError:
                return node
            return inner
        return node


def _unquoted(annotation: str) -> str:
    """``"list['Job']"`` -> ``list[Job]``: string annotations replaced by what they spell."""
    try:
        tree = ast.parse(annotation, mode="eval")
    except SyntaxError:
        return annotation
    return ast.unparse(_Unquote().visit(tree))
