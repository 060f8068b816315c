"""Reflection: the description of a service that a server answers a Describe with.

Built once per server from its :class:`~srpc.descriptor.ServiceDescriptor`
and the procedure codecs (the types the server validates with), encoded
once as a MessagePack map, and handed to every connection's session. The
map's keys are documented in docs/PROTOCOL.md ("Reflection"):

- ``service``, ``fingerprint``, ``doc``;
- ``procedures``: for each, in the interface's order, ``name``,
  ``signature`` (the parameters and return annotation as written in the
  interface, ``self`` left out), ``doc``, ``kind`` (``unary``,
  ``server_stream``, ``client_stream`` or ``bidirectional``),
  ``parameters`` (``name``, ``kind``, ``required``, ``streamed``,
  ``schema``, maybe ``note``, and for a callback ``callback``: its
  ``interface`` (``None`` for a Callable) and ``methods``, each with
  ``name``, ``async``, ``parameters`` and ``result`` as a procedure's) and
  ``result`` (``streamed``, ``schema``, maybe ``note``).

Every ``schema`` is a self-contained JSON Schema (2020-12) from
``msgspec.json.schema``; a streamed parameter's or result's schema is that
of one item. A type msgspec cannot describe (a numpy array, a pydantic
model...) gets ``{}`` and a ``note`` saying why.
"""

from __future__ import annotations

import ast
import inspect
import pathlib
import textwrap
from typing import Any, Final

import msgspec

from srpc.codec import CallbackParam, ProcedureCodec, service_codec
from srpc.descriptor import ServiceDescriptor

__all__ = ["CALL_KINDS", "describe_service", "encode_description", "type_schema"]

CALL_KINDS: Final = ("unary", "server_stream", "client_stream", "bidirectional")

_PARAM_KINDS: Final = {
    inspect.Parameter.POSITIONAL_ONLY: "positional_only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional_or_keyword",
    inspect.Parameter.VAR_POSITIONAL: "var_positional",
    inspect.Parameter.KEYWORD_ONLY: "keyword_only",
    inspect.Parameter.VAR_KEYWORD: "var_keyword",
}


def type_schema(tp: Any) -> tuple[dict[str, Any], str | None]:
    """``tp``'s JSON Schema and ``None``, or ``{}`` and why msgspec cannot describe it."""
    if tp is None or tp is type(None):
        return {"type": "null"}, None
    if isinstance(tp, type) and issubclass(tp, pathlib.PurePath):
        return {"type": "string", "description": "a file system path"}, None
    try:
        schema: dict[str, Any] = msgspec.json.schema(tp)
    except Exception as exc:  # any type msgspec's schema generator refuses
        shown = getattr(tp, "__qualname__", None) or repr(tp)
        return {}, f"msgspec cannot describe {shown} as a JSON Schema ({type(exc).__name__}: {exc})"
    return schema, None


def _docstring(obj: Any) -> str:
    doc = getattr(obj, "__doc__", None)
    return inspect.cleandoc(doc) if isinstance(doc, str) else ""


def _arg_text(arg: ast.arg, default: ast.expr | None, star: str = "") -> str:
    text = star + arg.arg
    if arg.annotation is not None:
        text += f": {ast.unparse(arg.annotation)}"
        if default is not None:
            text += f" = {ast.unparse(default)}"
    elif default is not None:
        text += f"={ast.unparse(default)}"
    return text


def _arguments_text(args: ast.arguments) -> str:
    """The parameters as written (PEP 8 spacing), the first (``self``) left out."""
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += args.defaults
    parts = []
    for i, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        if i > 0:
            parts.append(_arg_text(arg, default))
        if args.posonlyargs and i == len(args.posonlyargs) - 1:
            parts.append("/")
    if args.posonlyargs and len(args.posonlyargs) == 1 and parts and parts[0] == "/":
        parts.pop(0)  # only self was positional-only
    if args.vararg is not None:
        parts.append(_arg_text(args.vararg, None, "*"))
    elif args.kwonlyargs:
        parts.append("*")
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        parts.append(_arg_text(arg, kw_default))
    if args.kwarg is not None:
        parts.append(_arg_text(args.kwarg, None, "**"))
    return ", ".join(parts)


def _source_signature(function: Any) -> str | None:
    """``(a: int, b: int) -> int`` as written in the interface's source, ``self`` left out."""
    try:
        source = textwrap.dedent(inspect.getsource(function))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            text = f"({_arguments_text(node.args)})"
            if node.returns is not None:
                text += f" -> {ast.unparse(node.returns)}"
            return text
    return None


def _signature_text(interface: type, name: str, codec: ProcedureCodec) -> str:
    text = _source_signature(getattr(interface, name))
    if text is None:  # no source (an interface built at run time): the runtime's view of it
        text = str(codec.signature)
    return f"{name}{text}"


def _param_type(codec: ProcedureCodec, param: inspect.Parameter) -> Any:
    if param.name == codec.stream_param:
        return codec.stream_item
    if param.kind is inspect.Parameter.VAR_POSITIONAL:
        return codec.var_positional
    if param.kind is inspect.Parameter.VAR_KEYWORD:
        return codec.var_keyword
    for pname, tp in codec.positional:
        if pname == param.name:
            return tp
    return codec.keyword.get(param.name, Any)


def _with_schema(entry: dict[str, Any], tp: Any) -> dict[str, Any]:
    schema, note = type_schema(tp)
    entry["schema"] = schema
    if note is not None:
        entry["note"] = note
    return entry


def _procedure(interface: type, codec: ProcedureCodec, own: bool = True) -> dict[str, Any]:
    parameters = []
    for param in codec.signature.parameters.values():
        entry: dict[str, Any] = {
            "name": param.name,
            "kind": _PARAM_KINDS[param.kind],
            "required": param.default is inspect.Parameter.empty
            and param.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD),
            "streamed": param.name == codec.stream_param,
        }
        callback = next((c for c in codec.callbacks if c.name == param.name), None)
        if callback is not None:
            entry["callback"] = _callback(callback)
        parameters.append(_with_schema(entry, _param_type(codec, param)))
    streams_in = codec.stream_param is not None
    kind = CALL_KINDS[int(codec.stream_result) + 2 * int(streams_in)]
    if not own:  # a callback's method: no signature or docstring of its own here
        return {
            "parameters": parameters,
            "result": _with_schema({"streamed": False}, codec.return_type),
        }
    return {
        "name": codec.name,
        "signature": _signature_text(interface, codec.name, codec),
        "doc": _docstring(getattr(interface, codec.name)),
        "kind": kind,
        "parameters": parameters,
        "result": _with_schema({"streamed": codec.stream_result}, codec.return_type),
    }


def _callback(param: CallbackParam) -> dict[str, Any]:
    """What a callback parameter's methods take and return (the wire carries its number)."""
    methods = []
    for name, method in param.methods.items():
        entry = _procedure(param.interface or type(None), method, own=False)
        methods.append(
            {
                "name": name,
                "async": param.is_async[name],
                "parameters": entry["parameters"],
                "result": entry["result"],
            }
        )
    return {
        "interface": None if param.interface is None else param.interface.__qualname__,
        "methods": methods,
    }


def describe_service(descriptor: ServiceDescriptor) -> dict[str, Any]:
    """The description of ``descriptor``'s service (plain data: str, bool, list, dict)."""
    codecs = service_codec(descriptor).procedures
    interface = descriptor.interface
    return {
        "service": descriptor.name,
        "fingerprint": descriptor.fingerprint,
        "doc": _docstring(interface) if "__doc__" in vars(interface) else "",
        "procedures": [_safe_procedure(interface, codecs[name]) for name in descriptor.procedures],
    }


def _safe_procedure(interface: type, codec: ProcedureCodec) -> dict[str, Any]:
    """:func:`_procedure`, or what is known when describing it failed: reflection never stops
    a server from starting."""
    try:
        return _procedure(interface, codec)
    except Exception as exc:
        streams_in = codec.stream_param is not None
        return {
            "name": codec.name,
            "signature": f"{codec.name}{codec.signature}",
            "doc": "",
            "kind": CALL_KINDS[int(codec.stream_result) + 2 * int(streams_in)],
            "parameters": [],
            "result": {"streamed": codec.stream_result, "schema": {}},
            "note": f"this procedure could not be described ({type(exc).__name__}: {exc})",
        }


def encode_description(descriptor: ServiceDescriptor) -> bytes:
    """:func:`describe_service` as the MessagePack map a Description carries."""
    return msgspec.msgpack.encode(describe_service(descriptor))
