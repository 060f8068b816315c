"""Read an interface file with libcst (never importing it) and build the frozen ServiceModel."""

from __future__ import annotations

import ast
import builtins
import difflib
import hashlib
import keyword
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
from libcst.metadata import CodePosition, MetadataWrapper, PositionProvider, QualifiedNameProvider

from srpc._version import __version__
from srpc.compiler.errors import Diagnostic, StubgenError
from srpc.compiler.fingerprint import fingerprint
from srpc.compiler.model import (
    ImportModel,
    ParamKind,
    ParamModel,
    ProcedureModel,
    ServiceModel,
    pascal_case,
)

__all__ = ["ParsedService", "parse_interface", "parse_interface_source", "reserved_names"]

_SERVICE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")

_FIXED_RESERVED = frozenset(
    {"close", "with_timeout", "connect", "address", "start", "stop", "start_in_background"}
)

_DATA_TYPE_BASES = frozenset(
    {
        "typing.TypedDict",
        "typing_extensions.TypedDict",
        "typing.NamedTuple",
        "typing_extensions.NamedTuple",
        "enum.Enum",
        "enum.IntEnum",
        "enum.StrEnum",
        "enum.Flag",
        "enum.IntFlag",
        "msgspec.Struct",
    }
)

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
    }
)

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
                "Sequence",
                "MutableSequence",
                "Mapping",
                "MutableMapping",
                "AbstractSet",
                "Annotated",
            )
        ),
        *(
            f"collections.abc.{n}"
            for n in ("Sequence", "MutableSequence", "Mapping", "MutableMapping", "Set")
        ),
        "datetime.datetime",
        "datetime.date",
        "datetime.time",
        "datetime.timedelta",
        "uuid.UUID",
        "decimal.Decimal",
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
        "Sequence",
        "MutableSequence",
        "Mapping",
        "MutableMapping",
        "AbstractSet",
    )
)

_STUB_OWN_NAMES = frozenset({"AsyncClient", "ServiceDescriptor", "SyncClient", "Server", "SERVICE"})

_BUILTIN_EXCEPTIONS = frozenset(
    name
    for name in dir(builtins)
    if isinstance(getattr(builtins, name), type)
    and issubclass(getattr(builtins, name), BaseException)
)


def reserved_names() -> frozenset[str]:
    """Names a procedure may not take: the client bases' public API plus a fixed list."""
    from srpc.client import AsyncClient, SyncClient

    public = {
        name for base in (SyncClient, AsyncClient) for name in dir(base) if not name.startswith("_")
    }
    return frozenset(public | _FIXED_RESERVED)


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
    return parse_interface_source(source, service=service, folder=folder, path=shown)


def parse_interface_source(
    source: str, *, service: str, folder: str | None = None, path: str | None = None
) -> ParsedService:
    """Parse interface source text for service ``service`` (``folder`` defaults to it)."""
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
    try:
        # Python's own parser names the problem best; libcst's is the fallback.
        ast.parse(source, filename=shown)
    except SyntaxError as exc:
        raise StubgenError.at(
            shown,
            exc.lineno or 1,
            exc.offset or 1,
            expected="valid Python source",
            found=f"a syntax error ({exc.msg})",
            fix="fix the syntax error; the file must be valid Python",
        ) from None
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:  # pragma: no cover - ast accepted it
        raise StubgenError.at(
            shown,
            exc.editor_line,
            exc.editor_column,
            expected="valid Python source",
            found=f"a syntax error ({exc.message})",
            fix="fix the syntax error; the file must be importable Python",
        ) from None
    reader = _ModuleReader(source=source, service=service, path=shown)
    MetadataWrapper(module).visit(reader)
    assert reader.result is not None
    return reader.result


def _suggest_service(name: str) -> str:
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    snake = re.sub(r"[^a-z0-9_]", "_", snake)
    if not snake or snake[0].isdigit():
        snake = "_" + snake
    return snake


@dataclass
class _ModuleScope:
    """What the interface module binds at top level."""

    imports: dict[str, list[ImportModel]] = field(default_factory=dict)
    imported_qualified: dict[str, str] = field(default_factory=dict)
    classes: dict[str, cst.ClassDef] = field(default_factory=dict)
    others: set[str] = field(default_factory=set)
    """Functions and assigned names (type aliases, constants)."""


class _ModuleReader(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider)

    def __init__(self, *, source: str, service: str, path: str) -> None:
        super().__init__()
        self.source = source
        self.service = service
        self.path = path
        self.result: ParsedService | None = None
        self.module: cst.Module | None = None
        self.scope = _ModuleScope()
        self.typing_spellings: set[str] = set()
        self.needed: dict[str, cst.CSTNode] = {}

    # -- helpers ---------------------------------------------------------

    def pos(self, node: cst.CSTNode) -> CodePosition:
        return self.get_metadata(PositionProvider, node).start

    def error(self, node: cst.CSTNode, *, expected: str, found: str, fix: str) -> StubgenError:
        start = self.pos(node)
        return StubgenError.at(
            self.path, start.line, start.column + 1, expected=expected, found=found, fix=fix
        )

    def code(self, node: cst.CSTNode) -> str:
        assert self.module is not None
        return self.module.code_for_node(node).strip()

    def qualified(self, node: cst.CSTNode) -> set[str]:
        return {q.name for q in self.get_metadata(QualifiedNameProvider, node, set())}

    # -- the module ------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> bool:
        self.module = node
        self.collect_scope()
        self.result = self.read_service(node)
        return False

    def collect_scope(
        self, statements: Sequence[cst.CSTNode] | None = None, *, nested: bool = False
    ) -> None:
        """Top-level bindings, including those under ``if``/``try`` (first binding wins there).

        ``if TYPE_CHECKING:`` imports and ``try``/``except ImportError`` fallbacks count;
        the stub imports the first spelling unconditionally.
        """
        scope = self.scope
        assert self.module is not None
        for stmt in self.module.body if statements is None else statements:
            if isinstance(stmt, cst.ClassDef):
                scope.classes.setdefault(stmt.name.value, stmt)
            elif isinstance(stmt, cst.FunctionDef):
                scope.others.add(stmt.name.value)
            elif isinstance(stmt, (cst.If, cst.Try, cst.Else, cst.ExceptHandler, cst.Finally)):
                self.collect_scope(_nested_statements(stmt), nested=True)
            elif isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Import):
                        self.collect_import(small, nested=nested)
                    elif isinstance(small, cst.ImportFrom):
                        self.collect_import_from(small, nested=nested)
                    elif isinstance(small, cst.Assign):
                        for target in small.targets:
                            if isinstance(target.target, cst.Name):
                                scope.others.add(target.target.value)
                    elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                        scope.others.add(small.target.value)
                    elif isinstance(small, cst.TypeAlias):
                        scope.others.add(small.name.value)

    def collect_import(self, node: cst.Import, *, nested: bool = False) -> None:
        for alias in node.names:
            dotted = self.code(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                bound = alias.asname.name.value
                if nested and bound in self.scope.imported_qualified:
                    continue
                self.scope.imports.setdefault(bound, []).append(ImportModel(dotted, alias=bound))
                self.scope.imported_qualified[bound] = dotted
            else:
                bound = dotted.split(".")[0]
                if nested and bound in self.scope.imported_qualified:
                    continue
                self.scope.imports.setdefault(bound, []).append(ImportModel(dotted))
                self.scope.imported_qualified[bound] = bound

    def collect_import_from(self, node: cst.ImportFrom, *, nested: bool = False) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        module = self.code(node.module) if node.module is not None else ""
        if node.relative:
            # The stub lives beside the package, so `.x` in N/N_interface.py is `N.x` there.
            base = self.service if len(node.relative) == 1 else None
            if base is None:
                return
            module = f"{base}.{module}" if module else base
        for alias in node.names:
            name = self.code(alias.name)
            asname = (
                alias.asname.name.value
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name)
                else None
            )
            bound = asname or name
            if nested and bound in self.scope.imported_qualified:
                continue
            self.scope.imports.setdefault(bound, []).append(
                ImportModel(module, names=((name, asname),))
            )
            self.scope.imported_qualified[bound] = f"{module}.{name}"

    def read_service(self, module: cst.Module) -> ParsedService:
        pascal = pascal_case(self.service)
        class_name = f"{pascal}Interface"
        cls = self.scope.classes.get(class_name)
        if cls is None:
            candidates = list(self.scope.classes)
            near = difflib.get_close_matches(class_name, candidates, n=3, cutoff=0.5)
            near += [c for c in candidates if c.lower() == class_name.lower() and c not in near]
            found = "classes " + ", ".join(candidates) if candidates else "no class at module level"
            fix = (
                f"rename {near[0]} to {class_name}"
                if near
                else f"define `class {class_name}(ABC):` with @abstractmethod methods"
            )
            where = self.pos(self.scope.classes[near[0]]) if near else CodePosition(1, 0)
            raise StubgenError.at(
                self.path,
                where.line,
                where.column + 1,
                expected=f"class {class_name} (service {self.service!r} -> {class_name})",
                found=found,
                fix=fix,
            )
        if not self.is_abc(cls):
            raise self.error(
                cls,
                expected=f"{class_name} to subclass abc.ABC (or use metaclass=abc.ABCMeta)",
                found=f"class {class_name}({self.code_of_bases(cls)})"
                if cls.bases or cls.keywords
                else f"class {class_name} without a base class",
                fix=f"write `class {class_name}(ABC):` with `from abc import ABC, abstractmethod`",
            )
        procedures, warnings = self.read_procedures(cls, class_name)
        future = any(
            isinstance(stmt, cst.SimpleStatementLine)
            and any(
                isinstance(s, cst.ImportFrom)
                and s.module is not None
                and self.code(s.module) == "__future__"
                and not isinstance(s.names, cst.ImportStar)
                and any(self.code(a.name) == "annotations" for a in s.names)
                for s in stmt.body
            )
            for stmt in module.body
        )
        imports = self.stub_imports(class_name)
        raw_doc = self.docstring_literal(cls.body)
        model = ServiceModel(
            name=self.service,
            interface_class=class_name,
            source_path=f"{self.service}/{self.service}_interface.py",
            source_sha256=hashlib.sha256(self.source.encode("utf-8")).hexdigest()[:12],
            srpc_version=__version__,
            fingerprint=fingerprint(self.service, procedures),
            procedures=tuple(procedures),
            docstring=raw_doc,
            docstring_text=cls.get_docstring(clean=True),
            future_annotations=future,
            imports=imports,
            typing_spellings=tuple(sorted(self.typing_spellings)),
            exceptions=self.exception_names(),
            data_types=tuple(n for n in self.scope.classes if self.is_data_type(n)),
        )
        return ParsedService(model=model, warnings=tuple(warnings))

    def code_of_bases(self, cls: cst.ClassDef) -> str:
        return ", ".join(self.code(arg) for arg in (*cls.bases, *cls.keywords))

    def is_abc(self, cls: cst.ClassDef, seen: frozenset[str] = frozenset()) -> bool:
        for arg in cls.bases:
            if "abc.ABC" in self.qualified(arg.value):
                return True
            if isinstance(arg.value, cst.Name):
                parent = self.scope.classes.get(arg.value.value)
                if (
                    parent is not None
                    and parent.name.value not in seen
                    and self.is_abc(parent, seen | {cls.name.value})
                ):
                    return True
        return any(
            arg.keyword is not None
            and arg.keyword.value == "metaclass"
            and "abc.ABCMeta" in self.qualified(arg.value)
            for arg in cls.keywords
        )

    # -- procedures ------------------------------------------------------

    def read_procedures(
        self, cls: cst.ClassDef, class_name: str
    ) -> tuple[list[ProcedureModel], list[Diagnostic]]:
        procedures: list[ProcedureModel] = []
        warnings: list[Diagnostic] = []
        seen: dict[str, int] = {}
        reserved = reserved_names()
        body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
        for stmt in body:
            if not isinstance(stmt, cst.FunctionDef):
                continue
            name = stmt.name.value
            abstract = [
                d for d in stmt.decorators if "abc.abstractmethod" in self.qualified(d.decorator)
            ]
            start = self.pos(stmt)
            if not abstract:
                warnings.append(
                    Diagnostic(
                        self.path,
                        start.line,
                        start.column + 1,
                        expected="only @abstractmethod methods in the interface",
                        found=f"method {name!r} without @abstractmethod; it is not a remote "
                        "procedure and the stubs do not include it",
                        fix=f"add @abstractmethod to {name} to make it remote, or move it "
                        "to the implementation",
                    )
                )
                continue
            if name in seen:
                raise self.error(
                    stmt,
                    expected="one method per name",
                    found=f"a second method {name!r} (the first is on line {seen[name]})",
                    fix=f"rename or remove one of the two {name!r} methods",
                )
            seen[name] = start.line
            if (
                name in reserved
                or name.startswith("_srpc")
                or (name.startswith("__") and name.endswith("__"))
            ):
                raise self.error(
                    stmt.name,
                    expected="a procedure name that the stub's own API does not use",
                    found=f"{name!r}, which the generated stubs reserve "
                    f"(reserved: {', '.join(sorted(reserved))}, dunder names and _srpc*)",
                    fix=f"rename {name!r}, e.g. to {name.strip('_')}_",
                )
            others = [
                d
                for d in stmt.decorators
                if "abc.abstractmethod" not in self.qualified(d.decorator)
            ]
            if others:
                raise self.error(
                    others[0],
                    expected="a plain method decorated only with @abstractmethod",
                    found=f"decorator @{self.code(others[0].decorator)} on {name!r}",
                    fix="remove the decorator; remote procedures are plain instance methods",
                )
            procedures.append(self.read_procedure(stmt))
        if not procedures:
            raise self.error(
                cls,
                expected=f"at least one @abstractmethod in {class_name}",
                found="no abstract methods",
                fix="decorate each remote procedure with @abstractmethod "
                "(from abc import abstractmethod)",
            )
        return procedures, warnings

    def read_procedure(self, fn: cst.FunctionDef) -> ProcedureModel:
        name = fn.name.value
        params = fn.params
        plain: list[tuple[cst.Param, ParamKind]] = [
            *((p, ParamKind.POSITIONAL_ONLY) for p in params.posonly_params),
            *((p, ParamKind.POSITIONAL_OR_KEYWORD) for p in params.params),
        ]
        if not plain:
            raise self.error(
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
        models: list[ParamModel] = []
        for param, kind in all_params:
            pname = param.name.value
            if param.annotation is None:
                raise self.error(
                    param,
                    expected=f"an annotation on every parameter of {name!r}",
                    found=f"parameter {pname!r} without a type",
                    fix=f"annotate it, e.g. `{pname}: int`; every parameter must have a type",
                )
            ann = param.annotation.annotation
            where = f"parameter {pname!r} of {name!r}"
            self.check_annotation(ann, where)
            default = None
            if param.default is not None:
                default = self.code(param.default)
                self.need_names(param.default, where)
            models.append(ParamModel(pname, kind, self.code(ann), default))
        if fn.returns is None:
            header = self.code(fn.params)
            raise self.error(
                fn.name,
                expected=f"a return annotation on {name!r}",
                found="none",
                fix=f"add `-> None` if it returns nothing (or the type it returns): "
                f"`def {name}({header}) -> None:`",
            )
        self.check_annotation(fn.returns.annotation, f"the return type of {name!r}")
        proc = ProcedureModel(
            name=name,
            self_name=self_name,
            params=tuple(models),
            returns=self.code(fn.returns.annotation),
            is_async=fn.asynchronous is not None,
            self_positional_only=self_kind is ParamKind.POSITIONAL_ONLY,
            docstring=self.docstring_literal(fn.body),
            line=self.pos(fn).line,
        )
        return proc

    def docstring_literal(self, body: cst.BaseSuite) -> str | None:
        if not isinstance(body, cst.IndentedBlock) or not body.body:
            return None
        first = body.body[0]
        if (
            isinstance(first, cst.SimpleStatementLine)
            and len(first.body) == 1
            and isinstance(first.body[0], cst.Expr)
            and isinstance(first.body[0].value, cst.SimpleString)
        ):
            return first.body[0].value.value
        return None

    # -- annotations and the names they need -----------------------------

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

    def check_annotation(self, node: cst.BaseExpression, where: str) -> None:
        if isinstance(node, (cst.Name, cst.Attribute)):
            resolved = self.resolve_name(node)
            assert resolved is not None
            qualified, root = resolved
            self.check_type_name(node, qualified, root, where)
            return
        if isinstance(node, cst.Subscript):
            self.check_annotation(node.value, where)
            resolved = self.resolve_name(node.value)
            qualified = _canonical(resolved[0]) if resolved else ""
            elements = [e.slice.value for e in node.slice if isinstance(e.slice, cst.Index)]
            if len(elements) != len(node.slice):
                raise self.unsupported(node, where)
            if qualified == "typing.Literal":
                # Values, not types; the stub still needs the names they read (Color.RED).
                for element in elements:
                    self.need_names(element, where)
                return
            if qualified == "typing.Annotated":
                for element in elements[1:]:
                    self.need_names(element, where)
                elements = elements[:1]
            for element in elements:
                if not isinstance(element, cst.Ellipsis):  # tuple[int, ...]
                    self.check_annotation(element, where)
            return
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
            self.check_annotation(node.left, where)
            self.check_annotation(node.right, where)
            return
        if isinstance(node, cst.SimpleString):
            try:
                inner = cst.parse_expression(node.evaluated_value)  # type: ignore[arg-type]
            except Exception:
                raise self.unsupported(node, where) from None
            for name in _root_names(inner):
                self.need(name, node, where)
            return
        raise self.unsupported(node, where)

    def unsupported(self, node: cst.CSTNode, where: str, why: str = "") -> StubgenError:
        return self.error(
            node,
            expected=f"a supported type in {where} (None, bool, int, float, str, bytes, "
            "containers, Optional/Union, Literal, Any, datetime, UUID, Decimal, Enum, "
            "dataclass, TypedDict, NamedTuple, msgspec.Struct)",
            found=f"`{self.code(node)}`{why}",
            fix="use one of the supported types, or define a dataclass/msgspec.Struct "
            "in the interface module",
        )

    def check_type_name(
        self, node: cst.BaseExpression, qualified: str, root: str, where: str
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
            if local in self.scope.classes and not self.is_data_type(local):
                kind = "an exception" if self.is_exception(local) else "a plain class"
                raise self.unsupported(
                    node,
                    where,
                    f" ({local} is {kind}, not a dataclass, TypedDict, NamedTuple, "
                    "Enum or msgspec.Struct)",
                )
            self.need(root, node, where)
            return
        if canonical.startswith("builtins."):
            if canonical.removeprefix("builtins.") not in _ALLOWED_BUILTINS:
                raise self.unsupported(node, where)
            return
        if canonical in _LEGACY_TYPING:
            self.typing_spellings.add(canonical)
        top = canonical.split(".")[0]
        if (top in sys.stdlib_module_names or top == "typing_extensions") and (
            canonical not in _ALLOWED_QUALIFIED
        ):
            raise self.unsupported(node, where)
        self.need(root, node, where)

    def need_names(self, node: cst.CSTNode, where: str) -> None:
        for name in _root_names(node):
            self.need(name, node, where)

    def need(self, name: str, node: cst.CSTNode, where: str) -> None:
        if name in _STUB_OWN_NAMES:
            raise self.error(
                node,
                expected=f"names in {where} that the stub does not define itself",
                found=f"`{name}`, which the generated stubs use",
                fix=f"import {name} under another name (`import ... as ...`)",
            )
        defined = (
            name in self.scope.classes
            or name in self.scope.others
            or name in self.scope.imported_qualified
        )
        if not defined and not hasattr(builtins, name):
            raise self.error(
                node,
                expected=f"a name the interface module defines or imports in {where}",
                found=f"undefined name `{name}`",
                fix=f"import {name} in the interface module or define it there",
            )
        if defined:
            self.needed.setdefault(name, node)

    def stub_imports(self, class_name: str) -> tuple[ImportModel, ...]:
        local = {class_name}
        out: list[ImportModel] = []
        for name in self.needed:
            if name in self.scope.imported_qualified and not (
                name in self.scope.classes or name in self.scope.others
            ):
                out.extend(self.scope.imports[name])
            else:
                local.add(name)
        out.append(
            ImportModel(
                f"{self.service}.{self.service}_interface",
                names=tuple((n, None) for n in sorted(local)),
            )
        )
        return tuple(dict.fromkeys(out))

    # -- classes the module defines --------------------------------------

    def class_base_names(self, name: str) -> Iterable[str]:
        cls = self.scope.classes[name]
        for arg in cls.bases:
            resolved = self.resolve_name(arg.value)
            if resolved is not None:
                yield _canonical(resolved[0])

    def is_data_type(self, name: str) -> bool:
        return self._class_or_local_base(name, self._is_data_class, _DATA_TYPE_BASES.__contains__)

    def is_exception(self, name: str) -> bool:
        return self._class_or_local_base(name, lambda _: False, _is_exception_base)

    def _is_data_class(self, name: str) -> bool:
        for dec in self.scope.classes[name].decorators:
            target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
            resolved = self.resolve_name(target)
            if resolved and _canonical(resolved[0]) in (
                "dataclasses.dataclass",
                "attrs.define",
                "attrs.frozen",
            ):
                return True
        return False

    def _class_or_local_base(
        self,
        name: str,
        class_test: Callable[[str], bool],
        base_test: Callable[[str], bool],
        seen: frozenset[str] = frozenset(),
    ) -> bool:
        """Whether class ``name``, or a class it inherits from in this module, passes.

        ``class_test`` sees module-local class names, ``base_test`` qualified base names.
        """
        if class_test(name):
            return True
        for base in self.class_base_names(name):
            if base_test(base):
                return True
            local = base.removeprefix("<local>.")
            if (
                base.startswith("<local>.")
                and local in self.scope.classes
                and local not in seen
                and self._class_or_local_base(local, class_test, base_test, seen | {name})
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


def _nested_statements(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The statements directly inside an ``if``/``try`` block and its branches."""
    out: list[cst.CSTNode] = []
    body = getattr(node, "body", None)
    if isinstance(body, cst.IndentedBlock):
        out.extend(body.body)
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


def _is_exception_base(base: str) -> bool:
    if base.startswith("builtins.") and base.removeprefix("builtins.") in _BUILTIN_EXCEPTIONS:
        return True
    # Imported from elsewhere: trusted by its name (the interface is never imported).
    return not base.startswith("<") and base.endswith(("Error", "Exception"))
