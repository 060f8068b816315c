"""Render the frozen ServiceModel into stub source text with jinja2 (no I/O besides templates)."""

from __future__ import annotations

import ast
import importlib.resources
import inspect
import sys
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from srpc.compiler.model import ImportModel, ServiceModel

__all__ = ["RenderedStubs", "format_imports", "render", "templates_dir", "wrap"]

_LINE_LENGTH = 100
_ISORT_LINE_LENGTH = 88


@dataclass(frozen=True)
class RenderedStubs:
    """Both generated modules, keyed by file name."""

    client: tuple[str, str]
    server: tuple[str, str]

    def items(self) -> tuple[tuple[str, str], tuple[str, str]]:
        return (self.client, self.server)


def templates_dir() -> Path:
    """The installed wheel ships ``srpc/templates``; a checkout has ``templates/`` beside srpc/."""
    shipped = importlib.resources.files("srpc") / "templates"
    if shipped.is_dir():
        return Path(str(shipped))
    return Path(__file__).resolve().parents[2] / "templates"


def wrap(
    prefix: str,
    items: Iterable[str],
    suffix: str,
    indent: int,
    pragma: str = "",
    *,
    tuple: bool = False,
) -> str:
    """``prefix a, b suffix`` on one line if it fits, else one item per line (ruff style)."""
    parts = list(items)
    pad = " " * indent
    joined = ", ".join(parts)
    if tuple and len(parts) == 1:
        joined += ","
    line = f"{pad}{prefix}{joined}{suffix}"
    if len(line) <= _LINE_LENGTH:
        return line + pragma
    inner = "".join(f"{pad}    {part},\n" for part in parts)
    return f"{pad}{prefix}{pragma}\n{inner}{pad}{suffix}"


def _member_key(name: str) -> tuple[int, str, str]:
    # ruff's isort order-by-type: CONSTANTS, then Classes, then everything else.
    if name.isupper() and len(name) > 1:
        kind = 0
    elif name[:1].isupper():
        kind = 1
    else:
        kind = 2
    return (kind, name.lower(), name)


def _from_lines(module: str, names: Sequence[tuple[str, str | None]], indent: int = 0) -> list[str]:
    plain = sorted({n for n, a in names if a is None}, key=_member_key)
    aliased = sorted({(n, a) for n, a in names if a is not None}, key=lambda p: _member_key(p[0]))
    members = [*plain, *(f"{n} as {a}" for n, a in aliased)]
    members.sort(key=lambda m: _member_key(m.split(" as ")[0]))
    line = f"from {module} import {', '.join(members)}"
    # ruff's default line length (88), so the block is sorted in a user's folder without a
    # configuration too; the magic trailing comma keeps the wrapped form at 100 columns.
    if indent + len(line) <= _ISORT_LINE_LENGTH:
        return [line]
    return [f"from {module} import (", *(f"    {m}," for m in members), ")"]


def from_import(module: str, name: str, indent: int) -> str:
    """One ``from module import name`` at ``indent``, wrapped as isort would wrap it."""
    pad = " " * indent
    line = f"{pad}from {module} import {name}"
    if len(line) <= _ISORT_LINE_LENGTH:
        return line
    return f"{pad}from {module} import (\n{pad}    {name},\n{pad})"


def _section(imports: Sequence[ImportModel], indent: int = 0) -> list[str]:
    straight = sorted(
        {(i.module, i.alias) for i in imports if not i.is_from},
        key=lambda p: (p[0].lower(), p[0], p[1] or ""),
    )
    lines = [f"import {m}" + (f" as {a}" if a else "") for m, a in straight]
    by_module: dict[str, list[tuple[str, str | None]]] = {}
    for imp in imports:
        if imp.is_from:
            by_module.setdefault(imp.module, []).extend(imp.names)
    for module in sorted(by_module, key=lambda m: (m.lower(), m)):
        lines += _from_lines(module, by_module[module], indent)
    return lines


def _typing_extras(service: ServiceModel, stub: str) -> list[ImportModel]:
    names: list[str] = []
    if stub == "client":
        if service.type_params:
            names.append("Generic")
        if service.has_overloads:
            names.append("overload")
        if service.type_var_defs:
            names.append("TypeVar")
        if service.type_checking_imports:
            names.append("TYPE_CHECKING")
    elif service.type_params:
        names.append("Any")
    return [ImportModel("typing", names=((n, None),)) for n in names]


def srpc_client_import(service: ServiceModel) -> str:
    """The client stub's ``from srpc import ...``: the stream classes only where used."""
    names = ["AsyncClient", "ServiceDescriptor", "SyncClient"]
    if service.streams_results:
        names += ["AsyncResultStream", "ResultStream"]
    return "\n".join(_from_lines("srpc", [(n, None) for n in names]))


def format_imports(service: ServiceModel, srpc_import: str, stub: str = "client") -> str:
    """The stub's imports, sorted as ruff's isort wants them wherever ruff runs.

    Whether ``srpc`` and the service's package count as first- or third-party depends
    on where ruff runs, so each of them is its own block after an ``isort: split``:
    standard library, third-party, ``srpc``, then the service's package. Names the
    interface imports only under ``TYPE_CHECKING`` follow in an ``if TYPE_CHECKING:``
    block of their own.
    """
    extras = _typing_extras(service, stub)
    if stub == "client":
        imports = [*service.runtime_imports, *extras]
    else:
        imports = [
            *extras,
            ImportModel(service.interface_module, names=((service.interface_class, None),)),
        ]
    own = [i for i in imports if i.top_module == service.name]
    external = [i for i in imports if i.top_module != service.name]
    stdlib = [i for i in external if i.top_module in sys.stdlib_module_names]
    third = [i for i in external if i.top_module not in sys.stdlib_module_names]
    text = ""
    if stdlib:
        text += "\n".join(_section(stdlib)) + "\n\n"
    if third:
        text += "\n".join(_section(third)) + "\n\n# isort: split\n"
    text += srpc_import + "\n\n# isort: split\n"
    text += "\n".join(_section(own))
    checking = service.type_checking_imports if stub == "client" else ()
    if checking:
        groups = [
            [i for i in checking if i.top_module in sys.stdlib_module_names],
            [
                i
                for i in checking
                if i.top_module not in sys.stdlib_module_names and i.top_module != service.name
            ],
            [i for i in checking if i.top_module == service.name],
        ]
        blocks = ["\n".join(f"    {line}" for line in _section(g, 4)) for g in groups if g]
        text += "\n\nif TYPE_CHECKING:\n" + "\n\n    # isort: split\n".join(blocks)
    return text


def docstring(literal: str, indent: int) -> str:
    """A docstring literal for the stub: as written when it is clean at ``indent``, else rebuilt.

    Rebuilt means: the cleaned text, trailing whitespace dropped, lines longer than the
    line length reflowed, quoted with triple double quotes.
    """
    lines = literal.split("\n")
    widths_ok = len(" " * indent + lines[0]) <= _LINE_LENGTH and all(
        len(line) <= _LINE_LENGTH for line in lines[1:]
    )
    if widths_ok and all(line == line.rstrip() for line in lines) and "\t" not in literal:
        return literal
    value = ast.literal_eval(literal)
    if not isinstance(value, str):  # pragma: no cover - the parser only passes strings
        return literal
    pad = " " * indent
    width = _LINE_LENGTH - indent
    out: list[str] = []
    for line in inspect.cleandoc(value).split("\n"):
        line = line.rstrip()
        if len(line) + (3 if not out else 0) <= width:
            out.append(line)
            continue
        lead = line[: len(line) - len(line.lstrip())]
        out.extend(
            textwrap.wrap(
                line.strip(),
                width=width - (3 if not out else 0),
                initial_indent=lead,
                subsequent_indent=lead,
                break_long_words=False,
                break_on_hyphens=False,
            )
            or [""]
        )
    text = "\n".join(out).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text = text[:-1] + '\\"'
    body = "\n".join(f"{pad}{line}" if line else "" for line in text.split("\n")).lstrip()
    if "\n" in body:
        return f'"""{body}\n{pad}"""'
    return f'"""{body}"""'


def header(service: ServiceModel) -> str:
    """The generated-by comment lines, each within the line length."""
    generated = (
        f"Generated by srpc {service.srpc_version} from {service.source_path} "
        f"(sha256 {service.source_sha256})."
    )
    command = f"`srpc-stubgen {service.source_path}`."
    if len(f"# {generated} Do not edit:") <= _LINE_LENGTH:
        sentences = [f"{generated} Do not edit:", f"regenerate with {command}"]
    else:
        sentences = [generated, f"Do not edit: regenerate with {command}"]
    return "\n".join(
        "# " + line
        for sentence in sentences
        for line in textwrap.wrap(
            sentence, width=_LINE_LENGTH - 2, break_long_words=False, break_on_hyphens=False
        )
    )


_PEP585 = frozenset(f"typing.{n}" for n in ("List", "Dict", "Tuple", "Set", "FrozenSet"))
_DEPRECATED_TYPING_IMPORTS = frozenset(
    {
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
        # and the other abstract collections an interface may import from typing
        "Collection",
        "Container",
        "Iterable",
        "Iterator",
        "AsyncIterator",
        "MutableSet",
        "Reversible",
        # and what a callback's Callable type is spelled with
        "Callable",
        "Awaitable",
        "Coroutine",
    }
)


def ruff_noqa(service: ServiceModel) -> str:
    """The pyupgrade rules the client stub's verbatim annotations would trip, for a file noqa.

    Only the rules that do fire are listed: ruff reports unused ones (RUF100).
    """
    used = set(service.typing_spellings)
    codes = set()
    if used & _PEP585:
        codes.add("UP006")
    if "typing.Union" in used:
        codes.add("UP007")
    if "typing.Optional" in used:
        codes.add("UP045")
    codes.update(service.extra_noqa)
    if any(
        imp.module == "typing" and any(n in _DEPRECATED_TYPING_IMPORTS for n, _ in imp.names)
        for imp in service.imports
    ):
        codes.add("UP035")
    return ", ".join(sorted(codes))


def _module_docstring(text: str) -> str:
    lines = []
    for line in text.split("\n"):
        line = line.rstrip()
        if len(line) <= _LINE_LENGTH:
            lines.append(line)
            continue
        lead = line[: len(line) - len(line.lstrip())]
        lines += textwrap.wrap(
            line.strip(),
            width=_LINE_LENGTH,
            initial_indent=lead,
            subsequent_indent=lead,
            break_long_words=False,
            break_on_hyphens=False,
        )
    text = "\n".join(lines)
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["import_block"] = format_imports
    env.filters["module_docstring"] = _module_docstring
    env.filters["ruff_noqa"] = ruff_noqa
    env.filters["srpc_client_import"] = srpc_client_import
    env.globals["wrap"] = wrap
    env.filters["docstring"] = docstring
    env.filters["header"] = header
    env.filters["from_import"] = from_import
    return env


def render(service: ServiceModel) -> RenderedStubs:
    """Render both stubs; raises jinja2 errors on a template bug (StrictUndefined)."""
    env = _environment()
    client = env.get_template("client_stub.py.j2").render(service=service)
    server = env.get_template("server_stub.py.j2").render(service=service)
    return RenderedStubs(
        client=(service.client_stub_filename, client),
        server=(service.server_stub_filename, server),
    )
