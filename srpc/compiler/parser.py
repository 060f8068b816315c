"""Read an interface file with libcst (never importing it) and build the frozen ServiceModel.

The interface module is read first; the project's own modules it draws on (base
interfaces, data types in sibling modules) are read the same way, from the folder
that holds the service's package. Every problem found is collected, and all of
them are raised together in one :class:`StubgenError`.
"""

from __future__ import annotations

import ast
import builtins
import collections.abc
import contextlib
import difflib
import enum
import hashlib
import importlib
import keyword
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
from libcst.metadata import (
    CodePosition,
    CodeRange,
    MetadataWrapper,
    PositionProvider,
    QualifiedNameProvider,
)

from srpc._version import __version__
from srpc.codec import ABSTRACT_COLLECTIONS
from srpc.compiler.errors import Diagnostic, StubgenError
from srpc.compiler.fingerprint import fingerprint
from srpc.compiler.model import (
    CallbackMethodModel,
    CallbackModel,
    CallKind,
    ImportModel,
    OverloadModel,
    ParamKind,
    ParamModel,
    ProcedureModel,
    ServiceModel,
    pascal_case,
)

__all__ = ["ParsedService", "parse_interface", "parse_interface_source", "reserved_names"]

_SERVICE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")

# Module names a service may not take: the stubs and the runtime import these.
_TAKEN_MODULES = frozenset({"srpc", "msgspec"})

_DATA_TYPE_BASES = frozenset(
    {
        "typing.TypedDict",
        "typing.NamedTuple",
        "enum.Enum",
        "enum.IntEnum",
        "enum.StrEnum",
        "enum.Flag",
        "enum.IntFlag",
        "msgspec.Struct",
        "pydantic.BaseModel",
    }
)

_ENUM_BASES = frozenset(b for b in _DATA_TYPE_BASES if b.startswith("enum."))

_ALLOWED_BUILTINS = frozenset(
    {
        "None",
        "bool",
        "int",
        "float",
        "str",
        "bytes",
        "bytearray",
        "list",
        "tuple",
        "dict",
        "set",
        "frozenset",
        "object",
        "memoryview",
    }
)

# Abstract collections travel as what they are built from: the runtime's list of them.
_COLLECTIONS = ABSTRACT_COLLECTIONS

_ALLOWED_QUALIFIED = frozenset(
    {
        *(
            f"typing.{n}"
            for n in (
                "Any",
                "Optional",
                "Union",
                "Literal",
                "List",
                "Dict",
                "Tuple",
                "Set",
                "FrozenSet",
                "AbstractSet",
                "Annotated",
                "Text",
                "LiteralString",
                "Required",
                "NotRequired",
                "ReadOnly",
                *_COLLECTIONS,
            )
        ),
        *(f"collections.abc.{n}" for n in _COLLECTIONS),
        "datetime.datetime",
        "datetime.date",
        "datetime.time",
        "datetime.timedelta",
        "uuid.UUID",
        "decimal.Decimal",
        "pathlib.Path",
        "pathlib.PurePath",
        "pathlib.PosixPath",
        "pathlib.PurePosixPath",
        "os.PathLike",
        "typing.Hashable",
        "collections.abc.Hashable",
    }
)

_STREAMS = frozenset(
    f"{m}.{n}"
    for m in ("typing", "collections.abc")
    for n in ("Iterator", "AsyncIterator", "Generator", "AsyncGenerator", "AsyncIterable")
)

# The two spellings of a stream (docs/STUBGEN.md): the whole annotation of the result or of one
# parameter. The value says whether the items come from an async iterator.
_STREAM_KINDS = {
    **{f"{m}.Iterator": False for m in ("typing", "collections.abc")},
    **{f"{m}.AsyncIterator": True for m in ("typing", "collections.abc")},
}

_STREAM_WHY = {
    "Iterator": " (a stream is the whole annotation of the result or of one parameter, "
    "with its item type, e.g. `-> Iterator[int]`; use list[...] for a whole collection)",
    "AsyncIterator": " (a stream is the whole annotation of the result or of one parameter, "
    "with its item type, e.g. `-> AsyncIterator[int]`; use list[...] for a whole collection)",
    "Generator": " (declare the stream as `Iterator[T]`: the implementation may still be a "
    "generator, but what is sent into it and what it returns do not travel)",
    "AsyncGenerator": " (declare the stream as `AsyncIterator[T]`: the implementation may "
    "still be an async generator, but what is sent into it does not travel)",
    "AsyncIterable": " (declare `AsyncIterator[T]` to stream; an async iterable cannot "
    "travel whole)",
}

_CALLABLES = frozenset({"typing.Callable", "collections.abc.Callable"})

# The result of an async callable: ``Callable[[...], Awaitable[R]]``; the value is where R is.
_AWAITABLES = {
    **{f"{m}.Awaitable": 0 for m in ("typing", "collections.abc")},
    **{f"{m}.Coroutine": 2 for m in ("typing", "collections.abc")},
}

_REFUSED_WHY = {
    "typing.Self": "a procedure cannot send or receive the service itself",
    "typing.Type": "classes do not travel, only values",
    "builtins.type": "classes do not travel, only values",
    "typing.Awaitable": "an awaitable is not a value; declare `async def` returning the value",
    "typing.Coroutine": "a coroutine is not a value; declare `async def` returning the value",
    "collections.abc.Awaitable": "an awaitable is not a value",
    "collections.abc.Coroutine": "a coroutine is not a value",
}

_GENERICS = frozenset(
    {
        *(f"builtins.{n}" for n in ("list", "dict", "set", "frozenset", "tuple")),
        *(f"typing.{n}" for n in ("List", "Dict", "Set", "FrozenSet", "Tuple", "AbstractSet")),
        *(f"typing.{n}" for n in _COLLECTIONS),
        *(f"collections.abc.{n}" for n in _COLLECTIONS),
    }
)

# Spellings pyupgrade (ruff UP) flags; the stub must repeat them verbatim anyway.
_LEGACY_TYPING = frozenset(
    f"typing.{n}"
    for n in (
        "List",
        "Dict",
        "Tuple",
        "Set",
        "FrozenSet",
        "Optional",
        "Union",
        "AbstractSet",
        "Text",
        *_COLLECTIONS,
    )
)

# Stdlib modules stubgen must not import to look a type up (they act on import).
_UNSAFE_STDLIB = frozenset({"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo"})

_STUB_OWN_NAMES = frozenset(
    {
        "AsyncClient",
        "AsyncResultStream",
        "ResultStream",
        "ServiceDescriptor",
        "SyncClient",
        "Server",
        "SERVICE",
        "TYPE_CHECKING",
    }
)

# Dunders a client stub cannot turn into remote calls: Python itself calls them.
_DUNDER_WHY = "Python calls dunder methods itself (construction, attribute access, `with`, ...)"

_BUILTIN_EXCEPTIONS = frozenset(
    name
    for name in dir(builtins)
    if isinstance(getattr(builtins, name), type)
    and issubclass(getattr(builtins, name), BaseException)
)


def reserved_names() -> frozenset[str]:
    """Names a procedure may not take: none any more, besides dunders and ``_srpc*``.

    The stubs' own API stays reachable through ``srpc.close(stub)`` and
    ``srpc.with_timeout(stub, t)`` whatever the interface declares.
    """
    return frozenset()


def _refused_name(name: str) -> str | None:
    """Why ``name`` cannot be a procedure, or None."""
    if name.startswith("_srpc"):
        return "names starting with _srpc belong to the generated stubs and the runtime"
    if name.startswith("__") and name.endswith("__"):
        return _DUNDER_WHY
    return None


@dataclass(frozen=True)
class ParsedService:
    """The model plus what the compiler has to say about it."""

    model: ServiceModel
    warnings: tuple[Diagnostic, ...] = ()


def parse_interface(path: Path) -> ParsedService:
    """Check the naming convention for ``path`` and parse it into a ServiceModel."""
    shown = str(path)
    if not path.is_file():
        found = "a directory" if path.is_dir() else "no such file"
        raise StubgenError.at(
            shown,
            1,
            1,
            expected="an interface file N/N_interface.py",
            found=found,
            fix="pass the path of an existing interface file, e.g. calc/calc_interface.py",
        )
    if not path.name.endswith("_interface.py"):
        raise StubgenError.at(
            shown,
            1,
            1,
            expected="a file named N_interface.py (e.g. calc_interface.py)",
            found=f"{path.name!r}",
            fix="rename the file to <service>_interface.py inside a folder named <service>",
        )
    service = path.name.removesuffix("_interface.py")
    folder = path.resolve().parent.name
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StubgenError.at(
            shown, 1, 1, expected="a readable UTF-8 file", found=str(exc), fix="check the file"
        ) from None
    return parse_interface_source(
        source, service=service, folder=folder, path=shown, root=path.resolve().parent.parent
    )


def parse_interface_source(
    source: str,
    *,
    service: str,
    folder: str | None = None,
    path: str | None = None,
    root: Path | None = None,
) -> ParsedService:
    """Parse interface source text for service ``service`` (``folder`` defaults to it).

    ``root`` is the folder that holds the service's package (the server folder):
    the project's own modules the interface imports are read from there. Without
    it, imported names are trusted.
    """
    shown = path or f"{service}/{service}_interface.py"
    folder = service if folder is None else folder
    if not _SERVICE_NAME.match(service) or keyword.iskeyword(service):
        raise StubgenError.at(
            shown,
            1,
            1,
            expected="a service name N that is a lower-case Python identifier (snake_case allowed)",
            found=f"{service!r}",
            fix=f"rename the folder and file to {_suggest_service(service)}/"
            f"{_suggest_service(service)}_interface.py",
        )
    if service in sys.stdlib_module_names or service in _TAKEN_MODULES:
        what = "standard-library module" if service in sys.stdlib_module_names else "module"
        raise StubgenError.at(
            shown,
            1,
            1,
            expected="a service name that no module srpc or Python itself imports uses",
            found=f"{service!r}, which shadows the {what} {service!r} for every program "
            "that runs the stubs",
            fix=f"rename the folder and file, e.g. to {service}_service/"
            f"{service}_service_interface.py",
        )
    if folder != service:
        raise StubgenError.at(
            shown,
            1,
            1,
            expected=f"the interface file to live in a folder named {service!r} "
            f"({service}/{service}_interface.py)",
            found=f"folder {folder!r}",
            fix=f"move the file to {service}/{service}_interface.py "
            f"(or rename it to {folder}_interface.py)",
        )
    context = _Context(service=service, root=root, shown_root=str(Path(shown).parent.parent))
    reader = _ModuleReader.parse(context, source, shown, f"{service}.{service}_interface")
    context.extra_readers.append(reader)
    return _ServiceBuilder(context, reader).build()


def _suggest_service(name: str) -> str:
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    snake = re.sub(r"[^a-z0-9_]", "_", snake)
    if not snake or snake[0].isdigit():
        snake = "_" + snake
    return snake


def _syntax_error(shown: str, source: str) -> StubgenError:
    try:
        ast.parse(source, filename=shown)
    except SyntaxError as exc:
        return StubgenError.at(
            shown,
            exc.lineno or 1,
            exc.offset or 1,
            expected="valid Python source",
            found=f"a syntax error ({exc.msg})",
            fix="fix the syntax error; the file must be valid Python",
        )
    return StubgenError.at(  # pragma: no cover - libcst refused what Python accepts
        shown,
        1,
        1,
        expected="Python source libcst can parse",
        found="source it cannot parse",
        fix="report this; the file is valid Python",
    )


# ---------------------------------------------------------------- the project


@dataclass
class _Context:
    """What the whole run shares: the project's folder, its modules, the findings."""

    service: str
    root: Path | None
    shown_root: str
    errors: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    readers: dict[str, _ModuleReader | None] = field(default_factory=dict)
    installed: dict[str, _ModuleReader | None] = field(default_factory=dict)
    """Modules of installed packages read to tell what kind of class a type is."""
    typing_spellings: set[str] = field(default_factory=set)
    checked: set[tuple[str, str]] = field(default_factory=set)
    checked_aliases: set[tuple[str, str, str]] = field(default_factory=set)
    extra_readers: list[_ModuleReader] = field(default_factory=list)
    """The interface module itself (not in ``readers``, which are the project's others)."""
    quoted: bool = False
    bare_generics: bool = False
    """An annotation names a generic without its arguments (``dict``): mypy's type-arg."""
    base_clash: bool = False
    """The interface has a concrete ``close``/``with_timeout`` unlike the client base's."""

    def report(self, exc: StubgenError) -> None:
        for diagnostic in exc.diagnostics:
            if diagnostic not in self.errors:
                self.errors.append(diagnostic)

    def module_file(self, dotted: str, folder: Path | None) -> Path | None:
        if folder is None or dotted.split(".")[0] in sys.stdlib_module_names:
            return None
        parts = dotted.split(".")
        base = folder.joinpath(*parts)
        for candidate in (base.parent / f"{parts[-1]}.py", base / "__init__.py"):
            if candidate.is_file():
                return candidate
        return None

    def reader(self, dotted: str) -> _ModuleReader | None:
        """The project module ``dotted``, read with libcst, or None if it is not the project's."""
        if dotted in self.readers:
            return self.readers[dotted]
        self.readers[dotted] = None  # a cycle reads as "not found"
        file = self.module_file(dotted, self.root)
        if file is None:
            return None
        assert self.root is not None
        shown = str(Path(self.shown_root) / file.relative_to(self.root))
        try:
            source = file.read_text(encoding="utf-8")
            reader = _ModuleReader.parse(
                self, source, shown, dotted, package=file.name == "__init__.py"
            )
        except (OSError, UnicodeDecodeError, StubgenError) as exc:
            if isinstance(exc, StubgenError):
                self.report(exc)
            return None
        self.readers[dotted] = reader
        return reader

    def installed_reader(self, dotted: str) -> _ModuleReader | None:
        """An installed package's module, read (never imported) from its source, if it has one.

        Only to tell what kind of class a type is; its problems are never reported.
        """
        if dotted in self.installed:
            return self.installed[dotted]
        self.installed[dotted] = None
        if self.root is None or dotted.split(".")[0] in _TAKEN_MODULES:
            return None
        for entry in sys.path:
            folder = Path(entry or ".")
            if entry in ("", ".") or not folder.is_dir():
                continue
            file = self.module_file(dotted, folder)
            if file is None:
                continue
            try:
                source = file.read_text(encoding="utf-8")
                reader = _ModuleReader.parse(
                    self,
                    source,
                    str(file),
                    dotted,
                    package=file.name == "__init__.py",
                    installed=True,
                )
            except (OSError, UnicodeDecodeError, StubgenError):
                return None
            self.installed[dotted] = reader
            return reader
        return None

    def subclass_of(self, ref: _ClassRef) -> _ClassRef | None:
        """A class in the modules read so far that subclasses ``ref``, if any."""
        for reader in [r for r in self.readers.values() if r is not None] + self.extra_readers:
            for cls in reader.scope.classes.values():
                for arg in cls.bases:
                    value = arg.value.value if isinstance(arg.value, cst.Subscript) else arg.value
                    base = reader.class_ref(value)
                    if base is not None and base.key == ref.key:
                        return _ClassRef(reader, cls)
        return None

    def locate(
        self, qualified: str, *, installed: bool = False
    ) -> tuple[_ModuleReader, str] | None:
        """The project module (or, with ``installed``, the installed package's module) and the
        name in it that ``qualified`` names, if any."""
        parts = qualified.split(".")
        for i in range(len(parts) - 1, 0, -1):
            reader = self.reader(".".join(parts[:i]))
            if reader is not None:
                return reader, ".".join(parts[i:])
        if installed:
            for i in range(len(parts) - 1, 0, -1):
                reader = self.installed_reader(".".join(parts[:i]))
                if reader is not None:
                    return reader, ".".join(parts[i:])
        return None


@dataclass
class _ModuleScope:
    """What a module binds at top level."""

    imports: dict[str, list[ImportModel]] = field(default_factory=dict)
    imported_qualified: dict[str, str] = field(default_factory=dict)
    classes: dict[str, cst.ClassDef] = field(default_factory=dict)
    others: set[str] = field(default_factory=set)
    """Functions and assigned names (type aliases, constants, TypeVars)."""
    typevars: set[str] = field(default_factory=set)
    aliases: dict[str, cst.BaseExpression] = field(default_factory=dict)
    """Module-level names assigned a type expression (``Key = str``, ``type Key = str``)."""
    type_checking: set[str] = field(default_factory=set)
    """Names bound only under ``if TYPE_CHECKING:``."""


@dataclass(frozen=True)
class _ClassRef:
    reader: _ModuleReader
    cls: cst.ClassDef

    @property
    def key(self) -> tuple[str, str]:
        return (self.reader.dotted, self.cls.name.value)


@dataclass(frozen=True)
class _FoundCallback:
    """A callback parameter's type, found before it is checked."""

    node: cst.BaseExpression
    """The interface's name, or the ``Callable[...]`` (an alias's value, a string's inside)."""
    ref: _ClassRef | None
    """The callback interface; None for a Callable."""
    quoted: bool = False
    alias: str | None = None
    """The module-level alias the annotation names (``Notify = Callable[...]``)."""


@dataclass
class _MroEntry:
    ref: _ClassRef
    subst: dict[str, str]
    """{type parameter of this class: the source text the interface class gives it}"""
    protocol: bool
    scoped: frozenset[str]
    """PEP 695 type parameters of this class (``class XInterface[T]``)."""


class _ModuleReader:
    """One module, parsed: positions, qualified names, top-level bindings, checks of its types."""

    def __init__(
        self,
        context: _Context,
        source: str,
        path: str,
        dotted: str,
        wrapper: MetadataWrapper,
        *,
        package: bool = False,
        installed: bool = False,
    ) -> None:
        self.context = context
        self.installed = installed
        self.source = source
        self.path = path
        self.dotted = dotted
        self.package = package
        self.module = wrapper.module
        self.positions: dict[cst.CSTNode, CodeRange] = dict(wrapper.resolve(PositionProvider))
        self.qnames = wrapper.resolve(QualifiedNameProvider)
        self.scope = _ModuleScope()
        self.needed: dict[str, cst.CSTNode] = {}
        self.anchor: cst.CSTNode | None = None
        self.subscript_heads: set[int] = set()
        self.collect_scope(self.module.body)

    @classmethod
    def parse(
        cls,
        context: _Context,
        source: str,
        path: str,
        dotted: str,
        *,
        package: bool = False,
        installed: bool = False,
    ) -> _ModuleReader:
        try:
            module = cst.parse_module(source)
        except cst.ParserSyntaxError:
            raise _syntax_error(path, source) from None
        wrapper = MetadataWrapper(module)
        return cls(context, source, path, dotted, wrapper, package=package, installed=installed)

    # -- helpers ---------------------------------------------------------

    def pos(self, node: cst.CSTNode) -> CodePosition:
        found = self.positions.get(node)
        if found is None and self.anchor is not None:
            found = self.positions.get(self.anchor)
        return found.start if found is not None else CodePosition(1, 0)

    def error(self, node: cst.CSTNode, *, expected: str, found: str, fix: str) -> StubgenError:
        start = self.pos(node)
        return StubgenError.at(
            self.path, start.line, start.column + 1, expected=expected, found=found, fix=fix
        )

    def warn(self, node: cst.CSTNode, *, expected: str, found: str, fix: str) -> None:
        start = self.pos(node)
        self.context.warnings.append(
            Diagnostic(self.path, start.line, start.column + 1, expected, found, fix)
        )

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node).strip()

    def qualified(self, node: cst.CSTNode) -> set[str]:
        found: object = self.qnames.get(node, set())
        if callable(found):  # libcst computes qualified names lazily
            found = found()
        assert isinstance(found, (set, frozenset))
        return {q.name for q in found}

    def is_decorated(self, fn: cst.FunctionDef, *names: str) -> list[cst.Decorator]:
        return [d for d in fn.decorators if self.qualified(d.decorator) & set(names)]

    # -- top-level bindings ----------------------------------------------

    def collect_scope(
        self, statements: Sequence[cst.CSTNode], *, nested: bool = False, checking: bool = False
    ) -> None:
        """Top-level bindings, including those under ``if``/``try`` (first binding wins there).

        ``if TYPE_CHECKING:`` imports count; the stub imports them under
        ``TYPE_CHECKING`` too, and the runtime resolves them when it starts.
        """
        scope = self.scope
        for stmt in statements:
            if isinstance(stmt, cst.ClassDef):
                scope.classes.setdefault(stmt.name.value, stmt)
            elif isinstance(stmt, cst.FunctionDef):
                scope.others.add(stmt.name.value)
            elif isinstance(stmt, cst.If):
                guarded = self.is_type_checking(stmt.test)
                self.collect_scope(
                    _nested_statements(stmt, body_only=True),
                    nested=True,
                    checking=checking or guarded,
                )
                if stmt.orelse is not None:
                    self.collect_scope([stmt.orelse], nested=True, checking=checking)
            elif isinstance(stmt, (cst.Try, cst.Else, cst.ExceptHandler, cst.Finally)):
                self.collect_scope(_nested_statements(stmt), nested=True, checking=checking)
            elif isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Import):
                        self.collect_import(small, nested=nested, checking=checking)
                    elif isinstance(small, cst.ImportFrom):
                        self.collect_import_from(small, nested=nested, checking=checking)
                    elif isinstance(small, cst.Assign):
                        for target in small.targets:
                            if isinstance(target.target, cst.Name):
                                scope.others.add(target.target.value)
                                if self.is_typevar_call(small.value):
                                    scope.typevars.add(target.target.value)
                                elif _looks_like_type(small.value):
                                    scope.aliases.setdefault(target.target.value, small.value)
                    elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                        scope.others.add(small.target.value)
                        if small.value is not None and "TypeAlias" in self.code(
                            small.annotation.annotation
                        ):
                            scope.aliases.setdefault(small.target.value, small.value)
                    elif isinstance(small, cst.TypeAlias):
                        scope.others.add(small.name.value)
                        scope.aliases.setdefault(small.name.value, small.value)

    def is_type_checking(self, test: cst.BaseExpression) -> bool:
        return "typing.TYPE_CHECKING" in self.qualified(test) or (
            isinstance(test, cst.Name) and test.value == "TYPE_CHECKING"
        )

    def is_typevar_call(self, value: cst.BaseExpression) -> bool:
        if not isinstance(value, cst.Call):
            return False
        names = {_canonical(q) for q in self.qualified(value.func)}
        return bool(names & {"typing.TypeVar", "typing.ParamSpec", "typing.TypeVarTuple"})

    def bind_import(
        self, bound: str, model: ImportModel, qualified: str, *, nested: bool, checking: bool
    ) -> None:
        if nested and bound in self.scope.imported_qualified:
            return
        if checking:
            model = ImportModel(model.module, model.names, model.alias, type_checking=True)
            self.scope.type_checking.add(bound)
        self.scope.imports.setdefault(bound, []).append(model)
        self.scope.imported_qualified[bound] = qualified

    def collect_import(self, node: cst.Import, *, nested: bool, checking: bool) -> None:
        for alias in node.names:
            dotted = self.code(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                bound = alias.asname.name.value
                self.bind_import(
                    bound,
                    ImportModel(dotted, alias=bound),
                    dotted,
                    nested=nested,
                    checking=checking,
                )
            else:
                bound = dotted.split(".")[0]
                self.bind_import(
                    bound, ImportModel(dotted), bound, nested=nested, checking=checking
                )

    def absolute(self, relative: int, module: str) -> str | None:
        """``from ..x import y`` in this module, as an absolute module name."""
        package = self.dotted.split(".") if self.package else self.dotted.split(".")[:-1]
        if relative > 1:
            package = package[: len(package) - (relative - 1)]
        if not package:
            return None
        base = ".".join(package)
        return f"{base}.{module}" if module else base

    def collect_import_from(self, node: cst.ImportFrom, *, nested: bool, checking: bool) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        module = self.code(node.module) if node.module is not None else ""
        if node.relative:
            # The stub lives beside the package, so `.x` in N/N_interface.py is `N.x` there.
            absolute = self.absolute(len(node.relative), module)
            if absolute is None:
                return
            module = absolute
        for alias in node.names:
            name = self.code(alias.name)
            asname = (
                alias.asname.name.value
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name)
                else None
            )
            self.bind_import(
                asname or name,
                ImportModel(module, names=((name, asname),)),
                f"{module}.{name}",
                nested=nested,
                checking=checking,
            )

    # -- names -------------------------------------------------------------

    def resolve_name(self, node: cst.BaseExpression) -> tuple[str, str] | None:
        """The qualified name of a Name/Attribute chain and its root name, or None."""
        parts: list[str] = []
        cur: cst.BaseExpression = node
        while isinstance(cur, cst.Attribute):
            parts.append(cur.attr.value)
            cur = cur.value
        if not isinstance(cur, cst.Name):
            return None
        root = cur.value
        rest = ".".join(reversed(parts))
        if root in self.scope.classes or root in self.scope.others:
            base = f"<local>.{root}"
        elif root in self.scope.imported_qualified:
            base = self.scope.imported_qualified[root]
        elif hasattr(builtins, root):
            base = f"builtins.{root}"
        else:
            base = f"<undefined>.{root}"
        return (f"{base}.{rest}" if rest else base), root

    def canonical(self, node: cst.BaseExpression) -> str:
        resolved = self.resolve_name(node)
        return _canonical(resolved[0]) if resolved else ""

    def find_class(self, name: str, depth: int = 0) -> _ClassRef | None:
        """The class this module binds as ``name`` (defined here or imported from the project)."""
        if name in self.scope.classes:
            return _ClassRef(self, self.scope.classes[name])
        qualified = self.scope.imported_qualified.get(name)
        if qualified is None or depth > 8:
            return None
        return self.context_class(qualified, depth + 1)

    def context_class(self, qualified: str, depth: int = 0) -> _ClassRef | None:
        found = self.context.locate(qualified, installed=self.installed)
        if found is None:
            return None
        reader, rest = found
        if "." in rest:
            return None
        return reader.find_class(rest, depth)

    def class_ref(self, node: cst.BaseExpression) -> _ClassRef | None:
        """The project class an expression names, if it is one stubgen can read."""
        resolved = self.resolve_name(node)
        if resolved is None:
            return None
        qualified = resolved[0]
        if qualified.startswith("<local>."):
            local = qualified.removeprefix("<local>.")
            return (
                _ClassRef(self, self.scope.classes[local]) if local in self.scope.classes else None
            )
        if qualified.startswith("<"):
            return None
        root = resolved[1]
        if "." not in qualified.removeprefix(self.scope.imported_qualified.get(root, "")):
            ref = self.find_class(root)
            if ref is not None:
                return ref
        return self.context_class(qualified)

    # -- annotations and the names they need -----------------------------

    def check_annotation(
        self,
        node: cst.BaseExpression,
        where: str,
        *,
        record: bool = True,
        skip: frozenset[str] = frozenset(),
    ) -> None:
        if isinstance(node, cst.Name) and node.value in skip:
            return
        if isinstance(node, (cst.Name, cst.Attribute)):
            resolved = self.resolve_name(node)
            assert resolved is not None
            qualified, root = resolved
            self.check_type_name(node, qualified, root, where, record=record)
            return
        if isinstance(node, cst.Subscript):
            self.subscript_heads.add(id(node.value))
            self.check_annotation(node.value, where, record=record, skip=skip)
            qualified = self.canonical(node.value)
            elements = [e.slice.value for e in node.slice if isinstance(e.slice, cst.Index)]
            if len(elements) != len(node.slice):
                raise self.unsupported(node, where)
            if qualified == "typing.Literal":
                # Values, not types; the stub still needs the names they read (Color.RED).
                for element in elements:
                    self.need_names(element, where, record=record)
                return
            if qualified == "typing.Annotated":
                for element in elements[1:]:
                    self.need_names(element, where, record=record)
                elements = elements[:1]
            for element in elements:
                if isinstance(element, cst.List):  # Callable[[int], int] is refused above
                    continue
                if not isinstance(element, cst.Ellipsis):  # tuple[int, ...]
                    self.check_annotation(element, where, record=record, skip=skip)
            return
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
            self.check_annotation(node.left, where, record=record, skip=skip)
            self.check_annotation(node.right, where, record=record, skip=skip)
            return
        if isinstance(node, cst.SimpleString):
            self.context.quoted = self.context.quoted or record
            try:
                inner = cst.parse_expression(node.evaluated_value)  # type: ignore[arg-type]
            except Exception:
                raise self.unsupported(node, where) from None
            # A string stubgen made itself (a quoted stream's item) has no place: keep the
            # anchor the caller set.
            anchor = node if node in self.positions or self.anchor is None else self.anchor
            previous, self.anchor = self.anchor, anchor
            try:
                self.check_annotation(inner, where, record=record, skip=skip)
            finally:
                self.anchor = previous
            return
        if isinstance(node, cst.Name) and node.value == "None":
            return
        raise self.unsupported(node, where)

    def is_any(self, node: cst.BaseExpression, depth: int = 0) -> bool:
        """``Any``, or a module alias of it (``Value = Any``), as a type checker sees it."""
        canonical = self.canonical(node)
        if canonical == "typing.Any":
            return True
        local = canonical.removeprefix("<local>.")
        if local != canonical and local in self.scope.aliases and depth < 8:
            return self.is_any(self.scope.aliases[local], depth + 1)
        return False

    def stream_of(self, node: cst.BaseExpression) -> tuple[bool, cst.BaseExpression] | None:
        """``(is_async, item)`` when ``node`` is ``Iterator[T]``/``AsyncIterator[T]``, else None.

        A quoted ``"Iterator[Job]"`` gives the item quoted, ``"Job"``, so the stubs quote it
        too (it may name a class imported only under ``TYPE_CHECKING``)."""
        if isinstance(node, cst.SimpleString):
            try:
                inner = cst.parse_expression(node.evaluated_value)  # type: ignore[arg-type]
            except Exception:
                return None
            found = self.stream_of(inner)
            if found is None:
                return None
            text = _code(found[1])
            quote = "'" if '"' in text else '"'
            self.context.quoted = True
            return found[0], cst.SimpleString(f"{quote}{text}{quote}")
        if not isinstance(node, cst.Subscript) or len(node.slice) != 1:
            return None
        if not isinstance(node.value, (cst.Name, cst.Attribute)):
            return None
        element = node.slice[0].slice
        if not isinstance(element, cst.Index):
            return None
        is_async = _STREAM_KINDS.get(self.canonical(node.value))
        if is_async is None:
            return None
        return is_async, element.value

    def unsupported(self, node: cst.CSTNode, where: str, why: str = "") -> StubgenError:
        return self.error(
            node,
            expected=f"a supported type in {where} (None, bool, int, float, str, bytes, "
            "containers and abstract collections, Optional/Union, Literal, Any, datetime, "
            "UUID, Decimal, Path, Enum, dataclass, TypedDict, NamedTuple, msgspec.Struct)",
            found=f"`{self.code(node) if node in self.positions else _code(node)}`{why}",
            fix="use one of the supported types, or define a dataclass/msgspec.Struct "
            "in the interface module",
        )

    def code_of(self, node: cst.CSTNode) -> str:
        return self.code(node) if node in self.positions else _code(node)

    def misplaced_callback(self, node: cst.CSTNode, where: str, what: str) -> StubgenError:
        """A callback type (an interface of the module, a Callable) anywhere but the whole
        annotation of a procedure's parameter."""
        return self.error(
            node,
            expected=f"a type that travels in {where}",
            found=f"`{self.code_of(node)}`: {what}, so a callback; a callback can only be the "
            "whole annotation of a procedure's parameter, not a result, a stream's item, a "
            "field, or inside a container, Optional or Union",
            fix="pass the callback as a parameter of its own, e.g. `progress: Progress` or "
            "`fn: Callable[[int], int]` (a caller without one passes a function that does "
            "nothing)",
        )

    def check_type_name(
        self, node: cst.BaseExpression, qualified: str, root: str, where: str, *, record: bool
    ) -> None:
        canonical = _canonical(qualified)
        if canonical.startswith("<undefined>."):
            raise self.error(
                node,
                expected=f"a name the interface module defines or imports in {where}",
                found=f"undefined name `{root}`",
                fix=f"import {root} in the interface module or define it there",
            )
        if canonical.startswith("<local>."):
            local = canonical.removeprefix("<local>.")
            if local in self.scope.classes:
                self.check_class(_ClassRef(self, self.scope.classes[local]), node, where)
            elif local in self.scope.aliases and ("alias", self.dotted, local) not in (
                self.context.checked_aliases
            ):
                self.context.checked_aliases.add(("alias", self.dotted, local))
                self.check_annotation(
                    self.scope.aliases[local], f"{where} (through the alias {local})", record=False
                )
            self.need(root, node, where, record=record)
            return
        if canonical in _STREAMS:
            raise self.unsupported(node, where, _STREAM_WHY[canonical.rsplit(".", 1)[1]])
        if canonical in _CALLABLES:
            raise self.misplaced_callback(node, where, "a Callable")
        if canonical in _REFUSED_WHY:
            raise self.unsupported(node, where, f" ({_REFUSED_WHY[canonical]})")
        if canonical.startswith("builtins."):
            if canonical.removeprefix("builtins.") not in _ALLOWED_BUILTINS:
                raise self.unsupported(node, where)
            if canonical in _GENERICS and id(node) not in self.subscript_heads and record:
                self.context.bare_generics = True
            return
        if canonical in _LEGACY_TYPING and record:
            self.context.typing_spellings.add(canonical)
        if canonical in _GENERICS and id(node) not in self.subscript_heads and record:
            self.context.bare_generics = True
        top = canonical.split(".")[0]
        if top in sys.stdlib_module_names or top == "typing_extensions":
            if canonical not in _ALLOWED_QUALIFIED:
                why = _stdlib_value_type(canonical)
                if why:
                    raise self.unsupported(node, where, why)
            self.need(root, node, where, record=record)
            return
        located = self.context.locate(canonical, installed=True)
        if located is not None:
            reader, rest = located
            ref = reader.find_class(rest) if "." not in rest else None
            if ref is not None:
                self.check_class(ref, node, where)
            elif "." not in rest and not reader.binds(rest) and not reader.installed:
                raise self.error(
                    node,
                    expected=f"a type that module {reader.dotted} defines in {where}",
                    found=f"`{rest}`, which {reader.path} does not define",
                    fix=f"define {rest} in {reader.path} or import it from where it is defined",
                )
        self.need(root, node, where, record=record)

    def binds(self, name: str) -> bool:
        scope = self.scope
        return name in scope.classes or name in scope.others or name in scope.imported_qualified

    def check_class(self, ref: _ClassRef, node: cst.CSTNode, where: str) -> None:
        """A class used as a type must be a data type whose fields travel too."""
        reader, name = ref.reader, ref.cls.name.value
        if not reader.is_data_type(name):
            kind = "an exception" if reader.is_exception(name) else "a plain class"
            if reader.is_interface(name):
                raise self.misplaced_callback(node, where, f"{name} is an interface")
            raise self.unsupported(
                node,
                where,
                f" ({name} is {kind}, not a dataclass, TypedDict, NamedTuple, "
                "Enum or msgspec.Struct)",
            )
        if reader.is_abstract(name) and not reader.is_enum(name):
            raise self.unsupported(
                node,
                where,
                f" ({name} is an abstract data type: an instance of a subclass would arrive "
                f"as a {name}, without the subclass's own fields; declare the concrete types, "
                "e.g. a Union of them)",
            )
        if not reader.is_enum(name):
            sub = self.context.subclass_of(ref)
            if sub is not None:
                raise self.unsupported(
                    node,
                    where,
                    f" ({name} has a subclass, {sub.cls.name.value} in {sub.reader.path}: an "
                    f"instance of it would arrive as a {name}, without its own fields; declare "
                    f"the concrete types, e.g. `{name} | {sub.cls.name.value}`, or a base that "
                    "is not subclassed)",
                )
        if ref.key in self.context.checked:
            return
        self.context.checked.add(ref.key)
        if reader.is_enum(name) and not reader.installed:
            kinds = _enum_value_kinds(ref.cls)
            if len(kinds) > 1 or kinds - {"int", "str"}:
                raise self.unsupported(
                    node,
                    where,
                    f" ({name}'s values are {' and '.join(sorted(kinds))}: an Enum travels as "
                    "its value, which must be all int or all str)",
                )
        if reader.is_enum(name) or reader.installed:
            return  # an installed package's fields: msgspec checks them when srpc starts
        for stmt in _class_body(ref.cls):
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    ann = small.annotation.annotation
                    if reader.canonical(ann.value if isinstance(ann, cst.Subscript) else ann) in (
                        "typing.ClassVar",
                        "typing.Final",
                    ):
                        continue
                    try:
                        reader.check_annotation(
                            ann, f"field {small.target.value!r} of {name}", record=False
                        )
                    except StubgenError as exc:
                        self.context.report(exc)

    def need_names(self, node: cst.CSTNode, where: str, *, record: bool = True) -> None:
        for name in _root_names(node):
            self.need(name, node, where, record=record)

    def need(self, name: str, node: cst.CSTNode, where: str, *, record: bool = True) -> None:
        if name in _STUB_OWN_NAMES:
            raise self.error(
                node,
                expected=f"names in {where} that the stub does not define itself",
                found=f"`{name}`, which the generated stubs use",
                fix=f"import {name} under another name (`import ... as ...`)",
            )
        defined = self.binds(name)
        if not defined and not hasattr(builtins, name):
            raise self.error(
                node,
                expected=f"a name the interface module defines or imports in {where}",
                found=f"undefined name `{name}`",
                fix=f"import {name} in the interface module or define it there",
            )
        if defined and record:
            self.needed.setdefault(name, node)

    def admits_none(self, node: cst.BaseExpression) -> bool | None:
        """Whether an annotation accepts None (None when it cannot tell: an alias, a TypeVar)."""
        if isinstance(node, cst.SimpleString):
            try:
                node = cst.parse_expression(node.evaluated_value)  # type: ignore[arg-type]
            except Exception:
                return None
        if isinstance(node, cst.Name) and node.value == "None":
            return True
        if isinstance(node, cst.BinaryOperation):
            left, right = self.admits_none(node.left), self.admits_none(node.right)
            return True if (left or right) else (None if None in (left, right) else False)
        if isinstance(node, cst.Subscript):
            qualified = self.canonical(node.value)
            if qualified == "typing.Optional":
                return True
            elements = [e.slice.value for e in node.slice if isinstance(e.slice, cst.Index)]
            if qualified == "typing.Union":
                found = [self.admits_none(e) for e in elements]
                return True if any(found) else (None if None in found else False)
            if qualified == "typing.Annotated" and elements:
                return self.admits_none(elements[0])
            if qualified == "typing.Literal":
                return any(isinstance(e, cst.Name) and e.value == "None" for e in elements)
            return False
        qualified = self.canonical(node)
        if qualified in ("typing.Any", "builtins.object"):
            return True
        if qualified.startswith("<local>.") and qualified.removeprefix("<local>.") in (
            self.scope.others
        ):
            return None
        return False

    # -- classes the module defines --------------------------------------

    def is_data_type(self, name: str) -> bool:
        return self._class_or_base(
            name, _ModuleReader._is_data_class, _DATA_TYPE_BASES.__contains__
        )

    def is_enum(self, name: str) -> bool:
        return self._class_or_base(name, _never, _ENUM_BASES.__contains__)

    def is_exception(self, name: str) -> bool:
        return self._class_or_base(name, _never, _is_exception_base)

    def is_abstract(self, name: str) -> bool:
        """An ABC, or a class with abstract methods (meant to be subclassed)."""
        cls = self.scope.classes[name]
        if any(
            self.canonical(arg.value) == "abc.ABC"
            or (arg.keyword is not None and self.canonical(arg.value) == "abc.ABCMeta")
            for arg in (*cls.bases, *cls.keywords)
        ):
            return True
        return self.is_interface(name)

    def is_interface(self, name: str) -> bool:
        cls = self.scope.classes[name]
        return any(
            self.is_decorated(stmt, "abc.abstractmethod")
            for stmt in _class_body(cls)
            if isinstance(stmt, cst.FunctionDef)
        )

    def _is_data_class(self, name: str) -> bool:
        for dec in self.scope.classes[name].decorators:
            target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
            resolved = self.resolve_name(target)
            if resolved and _canonical(resolved[0]) in (
                "dataclasses.dataclass",
                "attrs.define",
                "attrs.frozen",
                "attr.s",
                "attr.define",
                "attr.frozen",
            ):
                return True
        return False

    def _class_or_base(
        self,
        name: str,
        class_test: Callable[[_ModuleReader, str], bool],
        base_test: Callable[[str], bool],
        seen: frozenset[tuple[str, str]] = frozenset(),
    ) -> bool:
        """Whether class ``name``, or a class it inherits from in the project, passes.

        ``class_test`` sees class names of this module, ``base_test`` qualified base names.
        """
        if class_test(self, name):
            return True
        cls = self.scope.classes[name]
        for arg in cls.bases:
            value = arg.value.value if isinstance(arg.value, cst.Subscript) else arg.value
            resolved = self.resolve_name(value)
            if resolved is None:
                continue
            base = _canonical(resolved[0])
            if base_test(base):
                return True
            ref = self.class_ref(value)
            if (
                ref is not None
                and ref.key not in seen
                and ref.reader._class_or_base(
                    ref.cls.name.value, class_test, base_test, seen | {(self.dotted, name)}
                )
            ):
                return True
        return False

    def exception_names(self) -> tuple[str, ...]:
        defined = [n for n in self.scope.classes if self.is_exception(n)]
        imported = [
            n
            for n in self.scope.imported_qualified
            if n.endswith(("Error", "Exception")) and n not in defined
        ]
        return tuple(defined + imported)

    def docstring_literal(self, body: cst.BaseSuite) -> str | None:
        if not isinstance(body, cst.IndentedBlock) or not body.body:
            return None
        first = body.body[0]
        if (
            isinstance(first, cst.SimpleStatementLine)
            and len(first.body) == 1
            and isinstance(first.body[0], cst.Expr)
            and isinstance(first.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
        ):
            value = first.body[0].value
            if isinstance(value, cst.SimpleString):
                return value.value
        return None


# ---------------------------------------------------------------- the service


@dataclass
class _MethodGroup:
    """The definitions of one name in one class body: overloads, then the implementation."""

    name: str
    defs: list[cst.FunctionDef] = field(default_factory=list)
    concrete_attribute: bool = False


class _ServiceBuilder:
    """The interface class, its bases across the project, its procedures: the ServiceModel."""

    def __init__(self, context: _Context, reader: _ModuleReader) -> None:
        self.context = context
        self.reader = reader
        self.service = context.service
        self.class_name = f"{pascal_case(self.service)}Interface"
        self.streams_arguments = False
        self.service_key: tuple[str, str] | None = None
        self.callback_of: str | None = None
        """While a callback interface's methods are read: its name (they are checked like
        procedures, and may not stream or take callbacks themselves)."""
        self.callbacks: dict[tuple[str, str], tuple[CallbackMethodModel, ...]] = {}

    def build(self) -> ParsedService:
        reader = self.reader
        cls = reader.scope.classes.get(self.class_name)
        if cls is None:
            raise self.missing_class()
        top = _ClassRef(reader, cls)
        self.service_key = top.key
        mro, markers = self.mro(top)
        if not markers["abc"]:
            raise reader.error(
                cls,
                expected=f"{self.class_name} to subclass abc.ABC or typing.Protocol "
                "(or use metaclass=abc.ABCMeta)",
                found=f"class {self.class_name}({self.code_of_bases(cls)})"
                if cls.bases or cls.keywords
                else f"class {self.class_name} without a base class",
                fix=f"write `class {self.class_name}(ABC):` with "
                "`from abc import ABC, abstractmethod`",
            )
        type_params, type_var_defs = self.type_params(top)
        procedures = self.read_procedures(mro)
        if not procedures and not self.context.errors:
            raise reader.error(
                cls,
                expected=f"at least one @abstractmethod in {self.class_name}",
                found="no abstract methods",
                fix="decorate each remote procedure with @abstractmethod "
                "(from abc import abstractmethod)",
            )
        if self.context.errors:
            raise StubgenError(_ordered(self.context.errors, reader.path))
        future = any(
            isinstance(stmt, cst.SimpleStatementLine)
            and any(
                isinstance(s, cst.ImportFrom)
                and s.module is not None
                and reader.code(s.module) == "__future__"
                and not isinstance(s.names, cst.ImportStar)
                and any(reader.code(a.name) == "annotations" for a in s.names)
                for s in stmt.body
            )
            for stmt in reader.module.body
        )
        self.streams_arguments = any(p.stream_param is not None for p in procedures)
        imports, deferred = self.stub_imports()
        if self.context.errors:
            raise StubgenError(_ordered(self.context.errors, reader.path))
        extra_noqa: list[str] = []
        if self.context.quoted and future:
            extra_noqa.append("UP037")
        raw_doc = reader.docstring_literal(cls.body)
        model = ServiceModel(
            name=self.service,
            interface_class=self.class_name,
            source_path=f"{self.service}/{self.service}_interface.py",
            source_sha256=hashlib.sha256(reader.source.encode("utf-8")).hexdigest()[:12],
            srpc_version=__version__,
            fingerprint=fingerprint(self.service, procedures),
            procedures=tuple(procedures),
            docstring=raw_doc,
            docstring_text=cls.get_docstring(clean=True),
            future_annotations=future,
            imports=imports,
            typing_spellings=tuple(sorted(self.context.typing_spellings)),
            exceptions=reader.exception_names(),
            data_types=tuple(n for n in reader.scope.classes if reader.is_data_type(n)),
            type_params=type_params,
            type_var_defs=type_var_defs,
            deferred_names=deferred,
            extra_noqa=tuple(extra_noqa),
            bare_generics=self.context.bare_generics,
            base_clash=self.context.base_clash,
        )
        return ParsedService(model=model, warnings=tuple(self.context.warnings))

    def missing_class(self) -> StubgenError:
        reader, class_name = self.reader, self.class_name
        candidates = list(reader.scope.classes)
        near = difflib.get_close_matches(class_name, candidates, n=3, cutoff=0.5)
        near += [c for c in candidates if c.lower() == class_name.lower() and c not in near]
        found = "classes " + ", ".join(candidates) if candidates else "no class at module level"
        fix = (
            f"rename {near[0]} to {class_name}"
            if near
            else f"define `class {class_name}(ABC):` with @abstractmethod methods"
        )
        where = reader.pos(reader.scope.classes[near[0]]) if near else CodePosition(1, 0)
        return StubgenError.at(
            reader.path,
            where.line,
            where.column + 1,
            expected=f"class {class_name} (service {self.service!r} -> {class_name})",
            found=found,
            fix=fix,
        )

    def code_of_bases(self, cls: cst.ClassDef) -> str:
        return ", ".join(
            self.reader.code(arg.value)
            if arg.keyword is None
            else f"{arg.keyword.value}={self.reader.code(arg.value)}"
            for arg in (*cls.bases, *cls.keywords)
        )

    # -- the class and its bases -------------------------------------------

    def mro(self, top: _ClassRef) -> tuple[list[_MroEntry], dict[str, bool]]:
        """The interface class and the project classes it inherits from, in Python's MRO (C3)."""
        markers = {"abc": False}
        done: dict[tuple[str, str], list[_MroEntry]] = {}

        def visit(ref: _ClassRef, subst: dict[str, str]) -> list[_MroEntry]:
            if ref.key in done:
                return done[ref.key]
            done[ref.key] = []  # a cycle reads as no further bases
            reader, cls = ref.reader, ref.cls
            protocol = False
            bases: list[tuple[_ClassRef, dict[str, str]]] = []
            for arg in cls.bases:
                value = arg.value.value if isinstance(arg.value, cst.Subscript) else arg.value
                qualified = reader.canonical(value)
                if qualified == "abc.ABC":
                    markers["abc"] = True
                elif qualified == "typing.Protocol":
                    markers["abc"] = protocol = True
                elif qualified in ("typing.Generic", "builtins.object"):
                    pass
                elif qualified.startswith(("collections.abc.", "typing.")):
                    markers["abc"] = True
                    self.check_mixin(reader, arg.value, qualified, top)
                else:
                    base = reader.class_ref(value)
                    if base is None:
                        if not qualified.startswith("<"):
                            reader.warn(
                                arg,
                                expected="base classes stubgen can read (the project's own "
                                "modules)",
                                found=f"base {reader.code(arg.value)} from "
                                + (
                                    "the standard library"
                                    if qualified.split(".")[0] in sys.stdlib_module_names
                                    else "an installed package"
                                )
                                + "; its abstract methods are not read",
                                fix="declare the remote procedures in the interface itself",
                            )
                            markers["abc"] = True
                        continue
                    bases.append((base, self.base_subst(reader, arg.value, base, subst)))
            for kw in cls.keywords:
                if (
                    kw.keyword is not None
                    and kw.keyword.value == "metaclass"
                    and self.is_abc_meta(reader, kw.value)
                ):
                    markers["abc"] = True
            entry = _MroEntry(ref, subst, protocol, self.pep695_params(ref))
            linear = [
                entry,
                *_c3_merge(
                    [visit(b, bs) for b, bs in bases] + [[done_entry(b, bs) for b, bs in bases]]
                ),
            ]
            done[ref.key] = linear
            return linear

        def done_entry(base: _ClassRef, base_subst: dict[str, str]) -> _MroEntry:
            found = done.get(base.key) or []
            return found[0] if found else _MroEntry(base, base_subst, False, frozenset())

        return visit(top, {}), markers

    def is_abc_meta(self, reader: _ModuleReader, node: cst.BaseExpression, depth: int = 0) -> bool:
        if reader.canonical(node) == "abc.ABCMeta" or "abc.ABCMeta" in reader.qualified(node):
            return True
        ref = reader.class_ref(node)
        if ref is None or depth > 8:
            return False
        return any(self.is_abc_meta(ref.reader, arg.value, depth + 1) for arg in ref.cls.bases)

    def check_mixin(
        self, reader: _ModuleReader, node: cst.BaseExpression, qualified: str, top: _ClassRef
    ) -> None:
        """A collections.abc base whose abstract dunders the stub would leave unimplemented."""
        name = qualified.split(".")[-1]
        base = getattr(collections.abc, name, None)
        abstract = sorted(getattr(base, "__abstractmethods__", ()))
        if not abstract:
            return
        defined = {
            stmt.name.value
            for stmt in _class_body(top.cls)
            if isinstance(stmt, cst.FunctionDef)
            and not top.reader.is_decorated(stmt, "abc.abstractmethod")
        }
        missing = [m for m in abstract if m not in defined]
        if missing:
            self.context.report(
                reader.error(
                    node,
                    expected="bases whose abstract methods can be remote procedures",
                    found=f"{reader.code(node)}, whose abstract {', '.join(missing)} "
                    f"cannot be remote ({_DUNDER_WHY})",
                    fix=f"remove {reader.code(node)} from the bases and declare a plain "
                    "procedure instead, e.g. `def size(self) -> int` for __len__",
                )
            )

    def pep695_params(self, ref: _ClassRef) -> frozenset[str]:
        type_parameters = getattr(ref.cls, "type_parameters", None)
        if type_parameters is None:
            return frozenset()
        return frozenset(p.param.name.value for p in type_parameters.params)

    def class_type_params(self, ref: _ClassRef) -> list[str]:
        """A class's type parameters: PEP 695, ``Generic[...]``, else the bases' free names."""
        reader, cls = ref.reader, ref.cls
        type_parameters = getattr(cls, "type_parameters", None)
        if type_parameters is not None:
            return [p.param.name.value for p in type_parameters.params]
        explicit: list[str] = []
        implicit: list[str] = []
        for arg in cls.bases:
            if not isinstance(arg.value, cst.Subscript):
                continue
            qualified = reader.canonical(arg.value.value)
            names = [
                e.slice.value.value
                for e in arg.value.slice
                if isinstance(e.slice, cst.Index) and isinstance(e.slice.value, cst.Name)
            ]
            if qualified in ("typing.Generic", "typing.Protocol"):
                explicit += names
            else:
                for element in arg.value.slice:
                    for n in _root_names(element):
                        if n in reader.scope.typevars and n not in implicit:
                            implicit.append(n)
        return explicit or implicit

    def base_subst(
        self,
        reader: _ModuleReader,
        node: cst.BaseExpression,
        base: _ClassRef,
        subst: dict[str, str],
    ) -> dict[str, str]:
        """``Base[str, Item]`` as {base's type parameter: the argument's source text}."""
        if not isinstance(node, cst.Subscript):
            return {}
        params = self.class_type_params(base)
        out: dict[str, str] = {}
        for param, element in zip(params, node.slice, strict=False):
            if not isinstance(element.slice, cst.Index):
                continue
            value = element.slice.value
            if not subst:  # the interface's own module: the stub imports what it names
                try:
                    reader.check_annotation(
                        value, f"the type argument of {reader.code(node.value)}"
                    )
                except StubgenError as exc:
                    self.context.report(exc)
            out[param] = _substitute(reader, value, subst)
        return out

    def type_params(self, top: _ClassRef) -> tuple[tuple[str, ...], tuple[str, ...]]:
        params = self.class_type_params(top)
        defs: list[str] = []
        type_parameters = getattr(top.cls, "type_parameters", None)
        if type_parameters is not None:
            for p in type_parameters.params:
                param = p.param
                name = param.name.value
                bound = getattr(param, "bound", None)
                if isinstance(param, cst.TypeVar) and bound is not None:
                    defs.append(f'{name} = TypeVar("{name}", bound={top.reader.code(bound)})')
                    top.reader.need_names(bound, "a type parameter bound")
                else:
                    defs.append(f'{name} = TypeVar("{name}")')
        else:
            for name in params:
                top.reader.need(name, top.cls, "the interface's type parameters")
        return tuple(params), tuple(defs)

    # -- procedures --------------------------------------------------------

    def groups(self, ref: _ClassRef) -> dict[str, _MethodGroup]:
        out: dict[str, _MethodGroup] = {}
        for stmt in _class_body(ref.cls):
            if isinstance(stmt, cst.FunctionDef):
                out.setdefault(stmt.name.value, _MethodGroup(stmt.name.value)).defs.append(stmt)
            elif isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    targets: list[cst.BaseExpression] = []
                    if isinstance(small, cst.Assign):
                        targets = [t.target for t in small.targets]
                    elif isinstance(small, cst.AnnAssign) and small.value is not None:
                        targets = [small.target]
                    for target in targets:
                        if isinstance(target, cst.Name):
                            group = out.setdefault(target.value, _MethodGroup(target.value))
                            group.concrete_attribute = True
        return out

    def read_procedures(self, mro: list[_MroEntry]) -> list[ProcedureModel]:
        per_class = [(entry, self.groups(entry.ref)) for entry in mro]
        order: list[str] = []
        for _, groups in reversed(per_class):
            for name in groups:
                if name not in order:
                    order.append(name)
        procedures: list[ProcedureModel] = []
        for name in order:
            entry, group = next((e, g[name]) for e, g in per_class if name in g)
            try:
                proc = self.read_group(entry, group)
            except StubgenError as exc:
                self.context.report(exc)
                continue
            if proc is not None:
                procedures.append(proc)
        return procedures

    def read_group(self, entry: _MroEntry, group: _MethodGroup) -> ProcedureModel | None:
        reader = entry.ref.reader
        if not group.defs:
            return None
        overloads = [d for d in group.defs if reader.is_decorated(d, "typing.overload")]
        impls = [d for d in group.defs if d not in overloads]
        if not impls:
            raise reader.error(
                group.defs[-1],
                expected=f"an implementation signature after the @overload variants of "
                f"{group.name!r}",
                found="only @overload definitions",
                fix=f"add the general `def {group.name}(self, ...)` after the overloads, "
                "decorated with @abstractmethod",
            )
        if len(impls) > 1:
            first = reader.pos(impls[0]).line
            raise reader.error(
                impls[1],
                expected="one method per name",
                found=f"a second method {group.name!r} (the first is on line {first})",
                fix=f"rename or remove one of the two {group.name!r} methods",
            )
        fn = impls[0]
        abstract = reader.is_decorated(fn, "abc.abstractmethod", "abc.abstractproperty")
        member = bool(abstract) or (entry.protocol and not group.name.startswith("_"))
        not_a_call = reader.is_decorated(
            fn, "builtins.property", "builtins.classmethod", "builtins.staticmethod"
        )
        if member and not abstract and not_a_call:
            # A Protocol's properties and class methods describe the object, not calls.
            reader.warn(
                fn,
                expected="Protocol members that are instance methods",
                found=f"@{reader.code(not_a_call[0].decorator)} member {group.name!r}; it is "
                "not a remote procedure and the stubs do not include it",
                fix=f"make {group.name} a plain method if callers need it remotely",
            )
            return None
        if not member:
            if self.callback_of is not None:
                return None  # a callback's own helpers run where the callback object lives
            if _clashes_with_client_base(reader, fn):
                self.context.base_clash = True
            if group.name.startswith("__") and group.name.endswith("__"):
                return None  # Python's own protocol methods (__aenter__, __str__): never remote
            reader.warn(
                fn,
                expected="only @abstractmethod methods in the interface",
                found=f"method {group.name!r} without @abstractmethod; it is not a "
                "remote procedure and the stubs do not include it",
                fix=f"add @abstractmethod to {group.name} to make it remote, or move "
                "it to the implementation",
            )
            return None
        why = _refused_name(group.name)
        if why is not None:
            raise reader.error(
                fn.name,
                expected="a procedure name a remote call can use",
                found=f"{group.name!r}: {why}",
                fix=f"rename {group.name!r}, e.g. to {group.name.strip('_')}",
            )
        self.check_decorators(reader, fn)
        subst = entry.subst
        scoped = entry.scoped
        proc = self.read_procedure(reader, fn, subst, scoped)
        carried: list[OverloadModel] = []
        for variant in overloads:
            shape = self.read_procedure(reader, variant, subst, scoped, overload=True)
            carried.append(OverloadModel(shape.parameter_sources, shape.returns))
        if carried and proc.kind is not CallKind.UNARY:
            raise reader.error(
                overloads[0],
                expected=f"no @overload variants on {group.name!r}, which streams",
                found=f"{len(carried)} @overload variants",
                fix="remove the @overload variants, or make them separate procedures",
            )
        if carried:
            proc = ProcedureModel(
                name=proc.name,
                self_name=proc.self_name,
                params=proc.params,
                returns=proc.returns,
                is_async=proc.is_async,
                docstring=proc.docstring,
                line=proc.line,
                self_positional_only=proc.self_positional_only,
                overloads=tuple(carried),
                returns_any=proc.returns_any,
            )  # carried only for unary calls: no stream fields to copy
        return proc

    def check_decorators(self, reader: _ModuleReader, fn: cst.FunctionDef) -> None:
        name = fn.name.value
        for dec in fn.decorators:
            qualified = {_canonical(q) for q in reader.qualified(dec.decorator)}
            if qualified & {"abc.abstractmethod", "typing.overload"}:
                continue
            if qualified & {
                "builtins.property",
                "abc.abstractproperty",
                "functools.cached_property",
            }:
                raise reader.error(
                    dec,
                    expected="remote procedures that are called: plain methods",
                    found=f"@{reader.code(dec.decorator)} on {name!r}; a property is read as "
                    "an attribute, which no remote call can answer",
                    fix=f"make it a method, `def {name}(self) -> ...`, and call `stub.{name}()`",
                )
            if qualified & {"contextlib.asynccontextmanager", "contextlib.contextmanager"}:
                raise reader.error(
                    dec,
                    expected="remote procedures that return a value in one call",
                    found=f"@{reader.code(dec.decorator)} on {name!r}; a context manager "
                    "runs code on both sides of the caller's block, which one call cannot carry",
                    fix="declare the enter and exit steps as two procedures",
                )
            raise reader.error(
                dec,
                expected="a plain method decorated only with @abstractmethod (and @overload)",
                found=f"decorator @{reader.code(dec.decorator)} on {name!r}",
                fix="remove the decorator; remote procedures are plain instance methods",
            )

    def read_procedure(
        self,
        reader: _ModuleReader,
        fn: cst.FunctionDef,
        subst: dict[str, str],
        scoped: frozenset[str] = frozenset(),
        *,
        overload: bool = False,
    ) -> ProcedureModel:
        name = fn.name.value
        params = fn.params
        plain: list[tuple[cst.Param, ParamKind]] = [
            *((p, ParamKind.POSITIONAL_ONLY) for p in params.posonly_params),
            *((p, ParamKind.POSITIONAL_OR_KEYWORD) for p in params.params),
        ]
        if not plain:
            raise reader.error(
                fn,
                expected=f"an instance method `def {name}(self, ...)`",
                found=f"{name!r} without a self parameter",
                fix=f"write `def {name}(self, ...)`",
            )
        self_param, self_kind = plain.pop(0)
        self_name = self_param.name.value
        all_params: list[tuple[cst.Param, ParamKind]] = list(plain)
        if isinstance(params.star_arg, cst.Param):
            all_params.append((params.star_arg, ParamKind.VAR_POSITIONAL))
        all_params += [(p, ParamKind.KEYWORD_ONLY) for p in params.kwonly_params]
        if params.star_kwarg is not None:
            all_params.append((params.star_kwarg, ParamKind.VAR_KEYWORD))
        skip = frozenset(subst) | scoped
        models: list[ParamModel] = []
        problems: list[StubgenError] = []
        streamed: str | None = None
        # In a callback interface's method, places are named after the callback's class.
        shown = name if self.callback_of is None else f"{self.callback_of}.{name}"
        for param, kind in all_params:
            pname = param.name.value
            if param.annotation is None:
                problems.append(
                    reader.error(
                        param,
                        expected=f"an annotation on every parameter of {name!r}",
                        found=f"parameter {pname!r} without a type",
                        fix=f"annotate it, e.g. `{pname}: int`; every parameter must have a type",
                    )
                )
                continue
            ann = param.annotation.annotation
            where = f"parameter {pname!r} of {shown!r}"
            found_callback = self.callback_type(reader, ann, skip)
            if found_callback is not None:
                try:
                    models.append(
                        self.read_callback_param(
                            reader, param, kind, shown, found_callback, subst, skip
                        )
                    )
                except StubgenError as exc:
                    problems.append(exc)
                continue
            stream = reader.stream_of(ann)
            if stream is not None and self.callback_of is not None:
                problems.append(self.stream_in_callback(reader, ann, where))
                continue
            if stream is not None:
                try:
                    model = self.read_stream_param(
                        reader, param, kind, name, stream, streamed, subst, skip
                    )
                except StubgenError as exc:
                    problems.append(exc)
                    continue
                streamed = streamed or pname
                models.append(model)
                continue
            try:
                reader.check_annotation(ann, where, skip=skip)
                default = None
                if param.default is not None:
                    default = reader.code(param.default)
                    reader.need_names(param.default, where)
            except StubgenError as exc:
                problems.append(exc)
                continue
            text = _substitute(reader, ann, subst)
            if default == "None" and reader.admits_none(ann) is False:
                if not overload:
                    reader.warn(
                        param,
                        expected=f"an Optional annotation on {where}, whose default is None",
                        found=f"`{pname}: {reader.code(ann)} = None` (implicit Optional)",
                        fix=f"write `{pname}: {reader.code(ann)} | None = None`; the stubs "
                        "are typed that way",
                    )
                text = _optional(ann, text)
            models.append(ParamModel(pname, kind, text, default))
        returns = ""
        result_item: str | None = None
        result_async = False
        if fn.returns is None:
            header = reader.code(fn.params)
            problems.append(
                reader.error(
                    fn.name,
                    expected=f"a return annotation on {name!r}",
                    found="none",
                    fix=f"add `-> None` if it returns nothing (or the type it returns): "
                    f"`def {name}({header}) -> None:`",
                )
            )
        else:
            result_stream = reader.stream_of(fn.returns.annotation)
            try:
                if result_stream is not None and self.callback_of is not None:
                    raise self.stream_in_callback(
                        reader, fn.returns.annotation, f"the return type of {shown!r}"
                    )
                if result_stream is None:
                    reader.check_annotation(
                        fn.returns.annotation, f"the return type of {shown!r}", skip=skip
                    )
                else:
                    result_async, item = result_stream
                    previous, reader.anchor = reader.anchor, fn.returns.annotation
                    try:
                        reader.check_annotation(
                            item, f"the items of the return type of {name!r}", skip=skip
                        )
                    finally:
                        reader.anchor = previous
                    result_item = _substitute(reader, item, subst)
                    if fn.asynchronous is not None:
                        kind_name = "AsyncIterator" if result_async else "Iterator"
                        header = reader.code(fn.params)
                        spelled = f"AsyncIterator[{reader.code(item)}]"
                        raise reader.error(
                            fn.asynchronous,
                            expected=f"a plain `def` for {name!r}, whose result streams",
                            found=f"`async def {name}(...) -> {kind_name}[...]`: a coroutine "
                            "that would return an iterator, not a stream",
                            fix=f"write `def {name}({header}) -> {spelled}`; the "
                            "implementation is still an `async def` with `yield`",
                        )
            except StubgenError as exc:
                problems.append(exc)
            returns = _substitute(reader, fn.returns.annotation, subst)
        callback = next((m.name for m in models if m.callback is not None), None)
        if callback is not None and (streamed or result_item is not None):
            problems.append(
                reader.error(
                    fn.name,
                    expected=f"a unary procedure where {name!r} takes the callback {callback!r}",
                    found=f"{name!r} streams its "
                    f"{'argument' if streamed else 'result'} and takes a callback",
                    fix="callbacks are not supported on streaming procedures yet: pass the "
                    "callback to a unary procedure, or stream progress as result items",
                )
            )
        if problems:
            raise StubgenError([d for p in problems for d in p.diagnostics])
        assert fn.returns is not None
        return ProcedureModel(
            name=name,
            self_name=self_name,
            params=tuple(models),
            returns=returns,
            is_async=fn.asynchronous is not None,
            self_positional_only=self_kind is ParamKind.POSITIONAL_ONLY,
            docstring=reader.docstring_literal(fn.body),
            line=reader.pos(fn).line,
            returns_any=reader.is_any(fn.returns.annotation),
            result_item=result_item,
            result_async=result_async,
        )

    # -- callbacks (docs/STUBGEN.md) -----------------------------

    def callback_type(
        self, reader: _ModuleReader, node: cst.BaseExpression, skip: frozenset[str]
    ) -> _FoundCallback | None:
        """The callback an annotation declares: an interface of the project's modules (a class
        with abstract methods), a ``Callable[...]``, or an alias of one; else None."""
        quoted = False
        if isinstance(node, cst.SimpleString):
            try:
                node = cst.parse_expression(node.evaluated_value)  # type: ignore[arg-type]
            except Exception:
                return None
            quoted = True
        head = node.value if isinstance(node, cst.Subscript) else node
        if not isinstance(head, (cst.Name, cst.Attribute)):
            return None
        if isinstance(head, cst.Name) and head.value in skip:
            return None
        canonical = reader.canonical(head)
        if canonical in _CALLABLES:
            return _FoundCallback(node, None, quoted)
        local = canonical.removeprefix("<local>.")
        if isinstance(node, cst.Subscript):
            pass  # a generic interface (refused where it is read); else not a callback
        elif local != canonical and local not in reader.scope.classes:
            value = reader.scope.aliases.get(local)
            if value is None:
                return None
            value_head = value.value if isinstance(value, cst.Subscript) else value
            if (
                isinstance(value_head, (cst.Name, cst.Attribute))
                and reader.canonical(value_head) in _CALLABLES
            ):
                return _FoundCallback(value, None, quoted, alias=local)
            return None
        ref = reader.class_ref(head)
        if ref is None:
            return None
        name = ref.cls.name.value
        if ref.reader.is_data_type(name) or not ref.reader.is_interface(name):
            return None
        return _FoundCallback(node, ref, quoted)

    def read_callback_param(
        self,
        reader: _ModuleReader,
        param: cst.Param,
        kind: ParamKind,
        proc: str,
        found: _FoundCallback,
        subst: dict[str, str],
        skip: frozenset[str],
    ) -> ParamModel:
        """A parameter typed with a callback: the caller passes a local object or function."""
        assert param.annotation is not None
        pname = param.name.value
        ann = param.annotation.annotation
        spelled = reader.code(ann)
        where = f"parameter {pname!r} of {proc!r}"
        if self.callback_of is not None:
            raise reader.error(
                param,
                expected=f"values as the parameters of {proc!r}, a method of the callback "
                f"{self.callback_of}",
                found=f"`{pname}: {spelled}`, a callback passed to a callback",
                fix="callbacks do not nest: pass plain values to the callback, and pass the "
                "other callback to the procedure as a parameter of its own",
            )
        if kind in (ParamKind.VAR_POSITIONAL, ParamKind.VAR_KEYWORD):
            star = "*" if kind is ParamKind.VAR_POSITIONAL else "**"
            raise reader.error(
                param,
                expected=f"a callback that is one named parameter of {proc!r}",
                found=f"`{star}{pname}: {spelled}`, a callback per argument",
                fix=f"declare `{pname}: {spelled}` without `{star}`, or a callback interface "
                "with one method for each thing the server calls back",
            )
        if param.default is not None and reader.code(param.default) == "None":
            raise reader.error(
                param.default,
                expected=f"a callback the caller always passes in {where}",
                found="default `None`: an optional callback (a callback cannot be inside "
                "Optional or Union)",
                fix="remove the default; a caller with nothing to be told passes a callback "
                "that does nothing",
            )
        previous, reader.anchor = reader.anchor, ann
        try:
            if found.ref is not None:
                callback = self.interface_callback(reader, ann, found, found.ref, where)
            else:
                callback = self.callable_callback(reader, ann, found, pname, proc, subst, skip)
            default = None
            if param.default is not None:
                default = reader.code(param.default)
                reader.need_names(param.default, where)
        finally:
            reader.anchor = previous
        return ParamModel(pname, kind, _substitute(reader, ann, subst), default, callback=callback)

    def interface_callback(
        self,
        reader: _ModuleReader,
        ann: cst.BaseExpression,
        found: _FoundCallback,
        ref: _ClassRef,
        where: str,
    ) -> CallbackModel:
        name = ref.cls.name.value
        if isinstance(found.node, cst.Subscript):
            raise reader.error(
                ann,
                expected=f"a callback interface without type arguments in {where}",
                found=f"`{reader.code(ann)}`, a generic callback interface",
                fix=f"declare {name}'s methods with the types they take and return",
            )
        if ref.key == self.service_key:
            raise reader.error(
                ann,
                expected=f"a callback interface other than the service's own in {where}",
                found=f"`{reader.code(ann)}`, the service interface itself (a client cannot "
                "serve the whole service back to the server)",
                fix="declare the methods the server calls back in an interface of their own, "
                f"e.g. `class {pascal_case(self.service)}Events(ABC)`, and type the "
                "parameter with it",
            )
        if found.quoted:
            self.context.quoted = True
        reader.need_names(found.node, where)
        return CallbackModel(
            annotation=reader.code(ann), interface=name, methods=self.callback_methods(ref)
        )

    def callback_methods(self, ref: _ClassRef) -> tuple[CallbackMethodModel, ...]:
        """A callback interface's abstract methods, checked like procedures (once per class).

        What they name is not imported by the stubs, which never spell it."""
        if ref.key in self.callbacks:
            return self.callbacks[ref.key]
        self.callbacks[ref.key] = ()
        previous = self.callback_of
        with self.unrecorded():
            mro, _ = self.mro(ref)
            self.callback_of = ref.cls.name.value
            try:
                procedures = self.read_procedures(mro)
            finally:
                self.callback_of = previous
        methods = tuple(
            CallbackMethodModel(p.name, p.params, p.returns, p.is_async) for p in procedures
        )
        if not methods and not self.context.errors:  # pragma: no cover - an interface has some
            raise ref.reader.error(
                ref.cls,
                expected=f"abstract methods in the callback interface {ref.cls.name.value}",
                found="none",
                fix="decorate each method the server calls back with @abstractmethod",
            )
        self.callbacks[ref.key] = methods
        return methods

    @contextlib.contextmanager
    def unrecorded(self) -> Iterator[None]:
        """Checks whose names the stubs never spell: what they would import is dropped."""
        context = self.context
        readers = [r for r in context.readers.values() if r is not None] + context.extra_readers
        needed = {id(r): dict(r.needed) for r in readers}
        state = (set(context.typing_spellings), context.quoted, context.bare_generics)
        try:
            yield
        finally:
            for r in [r for r in context.readers.values() if r is not None] + context.extra_readers:
                r.needed = needed.get(id(r), {})
            context.typing_spellings, context.quoted, context.bare_generics = state

    def callable_callback(
        self,
        reader: _ModuleReader,
        ann: cst.BaseExpression,
        found: _FoundCallback,
        pname: str,
        proc: str,
        subst: dict[str, str],
        skip: frozenset[str],
    ) -> CallbackModel:
        """``Callable[[A, B], R]``: one method, ``__call__``; ``R`` may be ``Awaitable[X]``."""
        node = found.node
        where = f"parameter {pname!r} of {proc!r}"
        spelled = reader.code_of(node)
        if found.alias is not None:
            # The stubs would repeat the alias, and what it names (the types of the callable's
            # parameters) would not be imported; spelled out, the signature is checked whole.
            raise reader.error(
                ann,
                expected=f"a callback's Callable type written in the annotation of {where}",
                found=f"`{found.alias}`, an alias of `{spelled}` (a callable alias)",
                fix=f"write `{pname}: {spelled}`, or declare a callback interface (an ABC with "
                "abstract methods) in the module",
            )
        if not isinstance(node, cst.Subscript):
            raise reader.error(
                ann,
                expected=f"a Callable with typed parameters and result in {where}",
                found=f"`{spelled}` without them",
                fix=f"write the types, e.g. `{pname}: Callable[[int], int]`",
            )
        elements = [e.slice.value for e in node.slice if isinstance(e.slice, cst.Index)]
        if len(elements) != 2 or len(node.slice) != 2:
            raise reader.error(
                node,
                expected=f"`Callable[[A, B], R]` in {where}",
                found=f"`{spelled}`",
                fix="write the parameter types as a list, then the result type, e.g. "
                "`Callable[[int, str], bool]`",
            )
        args, result = elements
        if isinstance(args, cst.Ellipsis):
            raise reader.error(
                args,
                expected=f"the parameter types of the callable in {where}",
                found=f"`{spelled}`: `...`, parameters of any type, which the server cannot "
                "check or encode",
                fix=f"list them, e.g. `Callable[[int, str], {reader.code_of(result)}]`, or "
                "declare a callback interface (an ABC with abstract methods) in the module",
            )
        if not isinstance(args, cst.List):
            raise reader.error(
                args,
                expected=f"the parameter types of the callable in {where} as a list",
                found=f"`{reader.code_of(args)}`",
                fix="write `Callable[[int, str], R]`; ParamSpec and Concatenate do not travel",
            )
        params: list[ParamModel] = []
        problems: list[StubgenError] = []
        for i, element in enumerate(args.elements):
            value = element.value
            try:
                self.check_callback_value(
                    reader,
                    value,
                    f"parameter {i + 1} of the callable {pname!r} of {proc!r}",
                    skip,
                )
            except StubgenError as exc:
                problems.append(exc)
                continue
            text = _substitute(reader, value, subst)
            params.append(ParamModel(f"arg{i}", ParamKind.POSITIONAL_ONLY, text))
        is_async, value = False, result
        if isinstance(result, cst.Subscript):
            index = _AWAITABLES.get(reader.canonical(result.value))
            if index is not None:
                items = [e.slice.value for e in result.slice if isinstance(e.slice, cst.Index)]
                if len(items) != index + 1 or len(items) != len(result.slice):
                    raise StubgenError(
                        [d for p in problems for d in p.diagnostics]
                        + list(
                            reader.error(
                                result,
                                expected=f"the result of an async callable in {where}",
                                found=f"`{reader.code_of(result)}`",
                                fix="write `Awaitable[R]` or `Coroutine[Any, Any, R]`",
                            ).diagnostics
                        )
                    )
                is_async, value = True, items[-1]
                reader.need_names(result.value, where)
                for other in items[:-1]:  # Coroutine[Any, Any, R]: what it sends and yields
                    try:
                        reader.check_annotation(other, where, skip=skip)
                    except StubgenError as exc:
                        problems.append(exc)
        try:
            self.check_callback_value(
                reader,
                value,
                f"the result of the callable {pname!r} of {proc!r}",
                skip,
                result=True,
            )
        except StubgenError as exc:
            problems.append(exc)
        if problems:
            raise StubgenError([d for p in problems for d in p.diagnostics])
        if found.quoted:
            self.context.quoted = True
        # The types were recorded as they were checked (type parameters skipped); the heads:
        reader.need_names(node.value, where)
        method = CallbackMethodModel(
            "__call__", tuple(params), _substitute(reader, value, subst), is_async
        )
        return CallbackModel(annotation=reader.code(ann), interface=None, methods=(method,))

    def check_callback_value(
        self,
        reader: _ModuleReader,
        node: cst.BaseExpression,
        where: str,
        skip: frozenset[str],
        *,
        result: bool = False,
    ) -> None:
        """A parameter or result type of a callable: a value that travels, not a callback."""
        if self.callback_type(reader, node, skip) is not None:
            raise reader.error(
                node,
                expected=f"a value type in {where}",
                found=f"`{reader.code_of(node)}`, a callback "
                + ("returned by a callback" if result else "passed to a callback"),
                fix="callbacks do not nest: a callback takes and returns plain values; pass "
                "another callback to the procedure as a parameter of its own",
            )
        if reader.stream_of(node) is not None:
            raise self.stream_in_callback(reader, node, where)
        reader.check_annotation(node, where, skip=skip)

    def stream_in_callback(
        self, reader: _ModuleReader, node: cst.BaseExpression, where: str
    ) -> StubgenError:
        return reader.error(
            node,
            expected=f"a value type in {where}",
            found=f"`{reader.code_of(node)}`, a stream: a callback takes and returns whole values",
            fix="use list[...] for a whole collection, or call the callback once per item",
        )

    def read_stream_param(
        self,
        reader: _ModuleReader,
        param: cst.Param,
        kind: ParamKind,
        proc: str,
        stream: tuple[bool, cst.BaseExpression],
        streamed: str | None,
        subst: dict[str, str],
        skip: frozenset[str],
    ) -> ParamModel:
        """A parameter annotated ``Iterator[T]``/``AsyncIterator[T]``: a streamed argument."""
        pname = param.name.value
        is_async, item = stream
        where = f"parameter {pname!r} of {proc!r}"
        spelled = reader.code(param.annotation.annotation) if param.annotation else ""
        if kind in (ParamKind.VAR_POSITIONAL, ParamKind.VAR_KEYWORD):
            star = "*" if kind is ParamKind.VAR_POSITIONAL else "**"
            raise reader.error(
                param,
                expected=f"a streamed argument that is one named parameter of {proc!r}",
                found=f"`{star}{pname}: {spelled}`, a stream per argument",
                fix=f"declare `{pname}: {spelled}` without `{star}`, or "
                f"`{star}{pname}: {reader.code(item)}` for plain values",
            )
        if streamed is not None:
            raise reader.error(
                param,
                expected=f"at most one streamed parameter in {proc!r}",
                found=f"{pname!r}, a second one after {streamed!r}",
                fix=f"stream one of them, e.g. `{pname}: list[{reader.code(item)}]` "
                "travels whole, or pair the items up in one stream of tuples",
            )
        if param.default is not None:
            raise reader.error(
                param.default,
                expected=f"no default on the streamed {where}",
                found=f"default `{reader.code(param.default)}`",
                fix="remove the default; a caller with nothing to stream passes `()`",
            )
        previous, reader.anchor = reader.anchor, param.annotation
        try:
            reader.check_annotation(item, f"the items of {where}", skip=skip)
        finally:
            reader.anchor = previous
        return ParamModel(
            pname,
            kind,
            _substitute(reader, param.annotation.annotation, subst) if param.annotation else "",
            None,
            stream_item=_substitute(reader, item, subst),
            stream_async=is_async,
        )

    # -- what the stubs import ---------------------------------------------

    def stub_imports(self) -> tuple[tuple[ImportModel, ...], tuple[tuple[str, str, str], ...]]:
        """Every import the stubs need, from every module whose annotations they repeat.

        The same name meaning two things in two modules is an error.
        """
        bound: dict[str, tuple[str, str, cst.CSTNode, _ModuleReader]] = {}
        out: list[ImportModel] = []
        deferred: list[tuple[str, str, str]] = []
        interface_names = {self.class_name}
        readers = [self.reader, *(r for r in self.context.readers.values() if r is not None)]
        for reader in readers:
            local: set[str] = set()
            for name, node in reader.needed.items():
                if name in reader.scope.imported_qualified and not (
                    name in reader.scope.classes or name in reader.scope.others
                ):
                    meaning = reader.scope.imported_qualified[name]
                    models = reader.scope.imports[name]
                else:
                    meaning = f"{reader.dotted}.{name}"
                    models = []
                    local.add(name)
                previous = bound.get(name)
                if previous is not None and previous[0] != meaning:
                    self.context.report(
                        reader.error(
                            node,
                            expected="one meaning per name across the modules the stubs draw on",
                            found=f"`{name}`, which is {meaning} here and {previous[0]} in "
                            f"{previous[3].path}",
                            fix="import one of them under another name in its module",
                        )
                    )
                    continue
                bound[name] = (meaning, name, node, reader)
                for model in models:
                    out.append(model)
                    if model.type_checking:
                        if model.is_from:
                            for original, alias in model.names:
                                deferred.append((alias or original, model.module, original))
                        else:
                            deferred.append(
                                (
                                    model.alias or model.top_module,
                                    model.module if model.alias else model.top_module,
                                    "",
                                )
                            )
            if reader is self.reader:
                local |= interface_names
            if local:
                out.append(
                    ImportModel(reader.dotted, names=tuple((n, None) for n in sorted(local)))
                )
        out += self.stream_imports(bound)
        return tuple(dict.fromkeys(out)), tuple(dict.fromkeys(deferred))

    def stream_imports(
        self, bound: dict[str, tuple[str, str, cst.CSTNode, _ModuleReader]]
    ) -> list[ImportModel]:
        """``Iterable``/``AsyncIterable`` for the client stubs' streamed parameters, unless
        the annotations already bring them; the same name meaning something else is an error."""
        if not self.streams_arguments:
            return []
        out: list[ImportModel] = []
        for name in ("AsyncIterable", "Iterable"):
            previous = bound.get(name)
            if previous is None:
                out.append(ImportModel("collections.abc", names=((name, None),)))
            elif previous[0] not in (f"typing.{name}", f"collections.abc.{name}") or (
                previous[3].scope.imports.get(name)
                and any(m.type_checking for m in previous[3].scope.imports[name])
            ):
                self.context.report(
                    previous[3].error(
                        previous[2],
                        expected=f"`{name}` free for the client stubs' streamed parameters",
                        found=f"`{name}`, which is {previous[0]} here",
                        fix=f"import {previous[0].rsplit('.', 1)[-1]} under another name "
                        f"(`import ... as ...`)",
                    )
                )
        return out


def _c3_merge(sequences: list[list[_MroEntry]]) -> list[_MroEntry]:
    """C3 linearization's merge step, by class; an inconsistent order keeps what is left."""
    pending = [list(seq) for seq in sequences if seq]
    out: list[_MroEntry] = []
    while pending:
        for seq in pending:
            head = seq[0].ref.key
            if not any(head in (e.ref.key for e in other[1:]) for other in pending):
                break
        else:  # Python itself would refuse this hierarchy; stay deterministic
            seq = pending[0]
            head = seq[0].ref.key
        out.append(seq[0])
        pending = [[e for e in other if e.ref.key != head] for other in pending]
        pending = [other for other in pending if other]
    return out


def _ordered(diagnostics: list[Diagnostic], first_path: str) -> list[Diagnostic]:
    return sorted(diagnostics, key=lambda d: (d.path != first_path, d.path, d.line, d.col))


def _optional(ann: cst.BaseExpression, text: str) -> str:
    if isinstance(ann, cst.SimpleString):
        inner = str(ann.evaluated_value)
        quote = "'" if '"' in inner else '"'
        return f"{quote}{inner} | None{quote}"
    return f"{text} | None"


def _substitute(reader: _ModuleReader, node: cst.BaseExpression, subst: dict[str, str]) -> str:
    """The text of ``node`` with type parameters replaced by the derived class's arguments."""
    if not subst:
        return reader.code(node)
    if isinstance(node, cst.SimpleString):
        try:
            inner = cst.parse_expression(str(node.evaluated_value))
        except Exception:
            return reader.code(node)
        return _code(inner.visit(_Substitute(subst)))  # type: ignore[arg-type]
    return _code(node.visit(_Substitute(subst)))  # type: ignore[arg-type]


class _Substitute(cst.CSTTransformer):
    def __init__(self, subst: dict[str, str]) -> None:
        super().__init__()
        self.subst = subst

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        text = self.subst.get(original.value)
        return cst.parse_expression(text) if text is not None else updated

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        return False  # `module.T` is never a type parameter


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node).strip()


def _class_body(cls: cst.ClassDef) -> Sequence[cst.CSTNode]:
    return cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()


def _stdlib_value_type(qualified: str) -> str:
    """Why a standard-library type cannot travel ("" when it can: an Enum of any module)."""
    parts = qualified.split(".")
    if parts[0] in _UNSAFE_STDLIB:
        return ""
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:i]))
        except Exception:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return " (no such name in the standard library)"
        if isinstance(obj, type) and issubclass(obj, enum.Enum):
            return ""
        return " (srpc has no codec for this standard-library type)"
    return " (srpc has no codec for this standard-library type)"


def _nested_statements(node: cst.CSTNode, *, body_only: bool = False) -> list[cst.CSTNode]:
    """The statements directly inside an ``if``/``try`` block and its branches."""
    out: list[cst.CSTNode] = []
    body = getattr(node, "body", None)
    if isinstance(body, cst.IndentedBlock):
        out.extend(body.body)
    if body_only:
        return out
    for attr in ("orelse", "finalbody"):
        branch = getattr(node, attr, None)
        if branch is not None:
            out.append(branch)
    out.extend(getattr(node, "handlers", ()))
    return out


def _canonical(qualified: str) -> str:
    if qualified.startswith("typing_extensions."):
        return "typing." + qualified.removeprefix("typing_extensions.")
    return qualified


def _root_names(node: cst.CSTNode) -> list[str]:
    collector = _RootNames()
    node.visit(collector)
    return list(dict.fromkeys(collector.names))


class _RootNames(cst.CSTVisitor):
    """Free names an expression reads (the `a` of `a.b.c`, never attribute or keyword names)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def visit_Name(self, node: cst.Name) -> bool:
        self.names.append(node.value)
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


def _clashes_with_client_base(reader: _ModuleReader, fn: cst.FunctionDef) -> bool:
    """A concrete ``close``/``with_timeout`` that SyncClient's own would conflict with (mypy)."""
    name = fn.name.value
    if name == "with_timeout":
        return True
    if name != "close":
        return False
    params = fn.params
    required = [p for p in (*params.posonly_params, *params.params)[1:] if p.default is None] + [
        p for p in params.kwonly_params if p.default is None
    ]
    returns = reader.code(fn.returns.annotation) if fn.returns is not None else "None"
    return bool(required) or fn.asynchronous is not None or returns != "None"


def _looks_like_type(value: cst.BaseExpression) -> bool:
    """A value that reads as a type expression (``str``, ``dict[str, Any]``, ``A | B``)."""
    if isinstance(value, cst.BinaryOperation):
        return isinstance(value.operator, cst.BitOr)
    if isinstance(value, cst.Subscript):
        return isinstance(value.value, (cst.Name, cst.Attribute))
    return isinstance(value, (cst.Name, cst.Attribute)) and not (
        isinstance(value, cst.Name) and value.value in ("None", "True", "False")
    )


def _enum_value_kinds(cls: cst.ClassDef) -> set[str]:
    """What an Enum's member values are, as far as the source says (``auto()`` is an int)."""
    kinds: set[str] = set()
    for stmt in _class_body(cls):
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if not (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Name)
                and not small.targets[0].target.value.startswith("_")
            ):
                continue
            value = small.value
            if isinstance(value, cst.Integer) or (
                isinstance(value, cst.UnaryOperation) and isinstance(value.expression, cst.Integer)
            ):
                kinds.add("int")
            elif isinstance(value, (cst.SimpleString, cst.ConcatenatedString)):
                kinds.add("str")
            elif isinstance(value, cst.Call) and _code(value.func).endswith("auto"):
                kinds.add("int")  # auto() in a StrEnum gives str; both travel
            elif isinstance(value, (cst.Tuple, cst.Float, cst.List, cst.Dict)):
                kinds.add(type(value).__name__.lower())
    return kinds


def _never(reader: _ModuleReader, name: str) -> bool:
    return False


def _is_exception_base(base: str) -> bool:
    if base.startswith("builtins.") and base.removeprefix("builtins.") in _BUILTIN_EXCEPTIONS:
        return True
    # Imported from elsewhere: trusted by its name (the interface is never imported).
    return not base.startswith("<") and base.endswith(("Error", "Exception"))
