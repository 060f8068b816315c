"""Typed per-procedure codecs, built once from the interface class.

The interface's signatures (``inspect.signature`` + ``typing.get_type_hints``)
give one msgspec decoder per parameter and one for the return type. The
server validates every argument before the implementation runs and
validates every result before it is sent; the client decodes results into
the declared type (``list[Record]`` comes back as ``Record`` instances).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import inspect
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any

import msgspec

from srpc.descriptor import ServiceDescriptor
from srpc.errors import InvalidArguments, InvalidResult
from srpc.framing import LARGE_FRAME, FrameBuffers, prefix_parts
from srpc.protocol import DECODE_ERRORS, TAG_REPLY

__all__ = ["ProcedureCodec", "ServiceCodec", "encoder", "service_codec"]

_EMPTY_RAW_MAP = msgspec.Raw(b"\x80")
_PATH = re.compile(r" - at `\$((?:\[\d+\])?)(.*)`$")
_MAX_CACHED_COUNTS = 32
_reply_frames = FrameBuffers()
_reply_head = msgspec.msgpack.Encoder().encode  # (5, id) -> fixarray-2 header, 5, id
_BIN32 = b"\xc6"


def _enc_hook(obj: Any) -> Any:
    # msgspec encodes every SPEC type natively; these cover common near-misses.
    if isinstance(obj, memoryview):
        return obj.tobytes()
    if isinstance(obj, (range, typing.KeysView, typing.ValuesView)):
        return list(obj)
    raise TypeError(f"srpc cannot encode objects of type {type(obj).__qualname__}")


encoder = msgspec.msgpack.Encoder(enc_hook=_enc_hook)
"""The encoder for user values (arguments, results, exception args)."""

_raw_list_decoder: msgspec.msgpack.Decoder[list[msgspec.Raw]] = msgspec.msgpack.Decoder(
    list[msgspec.Raw]
)
_raw_map_decoder: msgspec.msgpack.Decoder[dict[str, msgspec.Raw]] = msgspec.msgpack.Decoder(
    dict[str, msgspec.Raw]
)
_any_decoder: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder()


def _decoder_for(tp: Any) -> msgspec.msgpack.Decoder[Any]:
    try:
        return msgspec.msgpack.Decoder(tp)
    except TypeError:
        # A type msgspec cannot validate (e.g. an ambiguous Union): accept its wire form as is.
        return _any_decoder


def _array_length(raw: bytes | memoryview) -> int:
    head = raw[0]
    if 0x90 <= head <= 0x9F:
        return head & 0x0F
    if head == 0xDC:
        return int.from_bytes(raw[1:3], "big")
    if head == 0xDD:
        return int.from_bytes(raw[1:5], "big")
    raise msgspec.ValidationError("Expected `array`")


_PLAIN_RESULTS: dict[Any, tuple[type, ...]] = {
    int: (int,),
    float: (float, int),
    str: (str,),
    bool: (bool,),
    bytes: (bytes,),
    None: (type(None),),
    type(None): (type(None),),
}


@dataclass
class ProcedureCodec:
    """Argument and result handling for one remote procedure."""

    service: str
    name: str
    signature: inspect.Signature
    positional: list[tuple[str, Any]]
    min_positional: int
    var_positional: Any  # element type of *args, or None
    keyword: dict[str, Any]
    var_keyword: Any  # value type of **kwargs, or None
    needs_keywords: bool
    return_type: Any
    result_decoder: msgspec.msgpack.Decoder[Any]
    _plain_result: tuple[type, ...] | None
    _param_decoders: dict[str, msgspec.msgpack.Decoder[Any]] = field(default_factory=dict)
    _tuple_decoders: dict[int, msgspec.msgpack.Decoder[Any]] = field(default_factory=dict)
    stream_result: bool = False
    """The result is a stream of ``return_type`` items (``Iterator[T]``/``AsyncIterator[T]``)."""
    stream_param: str | None = None
    """The parameter whose argument is a stream of ``stream_item`` items, if any; in the
    request its place holds ``None`` and the items follow as StreamItem messages."""
    stream_param_index: int | None = None
    """Its position among the positional parameters (``None``: keyword-only)."""
    stream_item: Any = None
    stream_item_decoder: msgspec.msgpack.Decoder[Any] | None = None

    @property
    def label(self) -> str:
        return f"{self.service}.{self.name}()"

    # -- server side ---------------------------------------------------------

    def decode_args(
        self, args: msgspec.Raw | bytes, kwargs: msgspec.Raw | bytes
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Validate and decode a request's arguments, or raise :class:`InvalidArguments`."""
        full = self._full_decoder
        values: tuple[Any, ...]
        if full is not None:
            try:
                values = full.decode(args)  # the usual case: every positional parameter passed
            except DECODE_ERRORS:
                values = self._decode_positional(args)
        else:
            values = self._decode_positional(args)
        if kwargs == _EMPTY_RAW_MAP:
            if len(values) < self.min_positional or self.needs_keywords:
                self._bind(values, {})
            return values, {}
        return values, self._decode_kwargs(values, kwargs)

    def _decode_positional(self, args: msgspec.Raw | bytes) -> tuple[Any, ...]:
        view = memoryview(args)
        try:
            count = _array_length(view)
        except (IndexError, msgspec.ValidationError):
            raise InvalidArguments(f"{self.label}: positional arguments must be an array") from None
        if count > len(view):  # each element takes at least one byte
            raise InvalidArguments(f"{self.label}: malformed arguments (truncated array)")
        names = self.positional
        if count > len(names) and self.var_positional is None:
            raise InvalidArguments(
                f"{self.label} takes {len(names)} positional argument"
                f"{'' if len(names) == 1 else 's'} but {count} were given"
            )
        decoder = self._tuple_decoders.get(count)
        if decoder is None:
            decoder = self._tuple_decoder(count)
        try:
            return decoder.decode(view)  # type: ignore[no-any-return]
        except msgspec.ValidationError as exc:
            raise InvalidArguments(self._describe(exc, positional=True)) from None
        except DECODE_ERRORS as exc:
            raise InvalidArguments(f"{self.label}: malformed arguments: {exc}") from None

    @functools.cached_property
    def _full_decoder(self) -> msgspec.msgpack.Decoder[Any] | None:
        if self.var_positional is not None:
            return None
        decoder = self._tuple_decoder(len(self.positional))
        return None if isinstance(decoder, _ElementwiseDecoder) else decoder

    def _tuple_decoder(self, count: int) -> msgspec.msgpack.Decoder[Any]:
        fixed = [tp for _, tp in self.positional[:count]]
        extra = count - len(fixed)
        decoder: msgspec.msgpack.Decoder[Any]
        if extra > _MAX_CACHED_COUNTS:  # a long *args: element by element
            decoder = _ElementwiseDecoder(  # type: ignore[assignment]
                [_decoder_for(tp) for tp in fixed], _decoder_for(self.var_positional)
            )
            return decoder
        types = fixed + [self.var_positional] * extra
        if all(_decoder_for(tp) is not _any_decoder for tp in types):
            decoder = msgspec.msgpack.Decoder(tuple.__class_getitem__(tuple(types) or ()))
        else:
            decoder = _ElementwiseDecoder([_decoder_for(tp) for tp in types], None)  # type: ignore[assignment]
        if count <= _MAX_CACHED_COUNTS:
            self._tuple_decoders[count] = decoder
        return decoder

    def _decode_kwargs(
        self, values: tuple[Any, ...], kwargs: msgspec.Raw | bytes
    ) -> dict[str, Any]:
        try:
            raw_map = _raw_map_decoder.decode(kwargs)
        except DECODE_ERRORS:
            raise InvalidArguments(
                f"{self.label}: keyword arguments must be a map of names to values"
            ) from None
        decoded: dict[str, Any] = {}
        for key, raw in raw_map.items():
            tp = self.keyword.get(key, _MISSING)
            if tp is _MISSING:
                if self.var_keyword is None:
                    raise InvalidArguments(
                        f"{self.label} got an unexpected keyword argument {key!r}"
                    )
                tp = self.var_keyword
            decoder = self._param_decoders.get(key if tp is not self.var_keyword else "**")
            if decoder is None:
                decoder = _decoder_for(tp)
                self._param_decoders[key if tp is not self.var_keyword else "**"] = decoder
            try:
                decoded[key] = decoder.decode(raw)
            except msgspec.ValidationError as exc:
                raise InvalidArguments(self._describe(exc, name=key)) from None
            except DECODE_ERRORS as exc:
                raise InvalidArguments(
                    f"{self.label}: argument {key!r}: malformed value: {exc}"
                ) from None
        self._bind(values, decoded)
        return decoded

    def _bind(self, values: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            self.signature.bind(*values, **kwargs)
        except TypeError as exc:
            raise InvalidArguments(f"{self.label}: {exc}") from None

    def _describe(
        self, exc: msgspec.ValidationError, *, positional: bool = False, name: str = ""
    ) -> str:
        text = str(exc)
        match = _PATH.search(text)
        if match is None:
            if name:
                return f"{self.label}: argument {name!r}: {text} - at `{name}`"
            return f"{self.label}: {text}"
        index, rest = match.groups()
        if positional and index:
            i = int(index[1:-1])
            name = (
                self.positional[i][0]
                if i < len(self.positional)
                else f"*args[{i - len(self.positional)}]"
            )
        elif positional:
            name = "arguments"
        else:
            rest = index + rest
        return f"{self.label}: argument {name!r}: {text[: match.start()]} - at `{name}{rest}`"

    def check_result(self, value: Any) -> bytes:
        """Encode ``value`` and validate it against the declared return type."""
        try:
            data = encoder.encode(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidResult(
                f"{self.label} returned a value srpc cannot encode: {exc}"
            ) from None
        plain = self._plain_result
        if plain is not None and type(value) in plain:
            return data
        try:
            self.result_decoder.decode(data)
        except msgspec.ValidationError as exc:
            raise InvalidResult(
                f"{self.label} returned {type(value).__qualname__}, which does not match "
                f"its declared return type {_type_name(self.return_type)}: {exc}"
            ) from None
        return data

    def encode_reply(self, id: int, value: Any) -> bytearray | list[bytes | bytearray]:
        """The whole Reply frame (length prefix included) for ``value``, validated.

        One encoding pass straight into the frame buffer; the result is
        checked against the declared return type by decoding it from a view
        of that buffer (skipped for plain values whose type already matches).
        Raises :class:`InvalidResult` like :meth:`check_result`.

        A large ``bytes`` result declared as ``bytes`` comes back as two
        parts, the frame's head and the value itself, to be written one after
        the other: the payload is never copied into a frame buffer.
        """
        if type(value) is bytes and len(value) >= LARGE_FRAME and self._plain_result == (bytes,):
            head = bytearray(_reply_head((TAG_REPLY, id)))
            head[0] = 0x93  # fixarray of 3: [5, id, result]
            size = len(value)
            head += _BIN32 + size.to_bytes(4, "big")
            return prefix_parts([b"", head, value])
        try:
            buffer = _reply_frames.encode(encoder, (TAG_REPLY, id, value))
        except (TypeError, ValueError, OverflowError):
            self.check_result(value)  # raises InvalidResult with the usual message
            raise  # pragma: no cover - check_result encodes the same value
        plain = self._plain_result
        if plain is not None and type(value) in plain:
            return buffer
        checker = self._reply_checker
        if checker is not None:
            view = memoryview(buffer)
            try:
                checker.decode(view[4:])
            except msgspec.ValidationError:
                self.check_result(value)  # raises InvalidResult with the usual message
            finally:
                view.release()
        return buffer

    @functools.cached_property
    def _reply_checker(self) -> msgspec.msgpack.Decoder[Any] | None:
        if self.result_decoder is _any_decoder:
            return None
        for tp in (_mirror(self.return_type, {}), self.return_type):
            try:
                return msgspec.msgpack.Decoder(tuple[int, int, tp])  # type: ignore[valid-type]
            except TypeError:
                continue
        return None  # pragma: no cover - the result decoder was built from the same type

    # -- client side ---------------------------------------------------------

    def decode_item(self, data: msgspec.Raw | bytes) -> Any:
        """A streamed argument's item, validated (server side), or :class:`InvalidArguments`."""
        decoder = self.stream_item_decoder
        assert decoder is not None
        try:
            return decoder.decode(data)
        except msgspec.ValidationError as exc:
            raise InvalidArguments(self._describe(exc, name=f"{self.stream_param}[item]")) from None
        except DECODE_ERRORS as exc:
            raise InvalidArguments(f"{self.label}: malformed stream item: {exc}") from None

    def decode_result(self, data: msgspec.Raw | bytes) -> Any:
        try:
            return self.result_decoder.decode(data)
        except DECODE_ERRORS as exc:
            raise InvalidResult(
                f"{self.label}: the server's result does not decode: {exc}"
            ) from None


class _ElementwiseDecoder:
    """Decodes an array element by element (for types msgspec cannot combine)."""

    def __init__(
        self,
        decoders: list[msgspec.msgpack.Decoder[Any]],
        rest: msgspec.msgpack.Decoder[Any] | None,
    ) -> None:
        self._decoders = decoders
        self._rest = rest

    def decode(self, data: Any) -> tuple[Any, ...]:
        items = _raw_list_decoder.decode(data)
        decoders = self._decoders
        out = []
        for i, raw in enumerate(items):
            decoder = decoders[i] if i < len(decoders) else self._rest
            if decoder is None:
                raise msgspec.ValidationError("Expected `array` of fewer items")
            try:
                out.append(decoder.decode(raw))
            except msgspec.ValidationError as exc:
                text = str(exc)
                match = _PATH.search(text)
                rest = "" if match is None else match.group(1) + match.group(2)
                head = text if match is None else text[: match.start()]
                raise msgspec.ValidationError(f"{head} - at `$[{i}]{rest}`") from None
        return tuple(out)


def _mirror(tp: Any, seen: dict[Any, Any]) -> Any:
    """``tp`` rewritten into a type msgspec decodes faster, accepting the same MessagePack.

    Only for validating results on the server, whose decoded values are
    thrown away: plain dataclasses and ``msgspec.Struct`` types become
    untracked (``gc=False``) Structs with the same field names, types,
    defaults and extra-key rule, and ``list[X]`` becomes ``tuple[X, ...]``
    (one allocation instead of two; both accept exactly the arrays of ``X``).
    Set elements and dict keys keep their real types, so that hashability is
    checked as the real decode checks it. A dataclass or Struct that cannot be
    copied exactly (``__post_init__``, ``init=False`` fields, renamed or tagged
    Structs, generics, unresolvable annotations) keeps its real type, as does
    a recursive reference: exact, only slower.
    """
    if isinstance(tp, type) and (dataclasses.is_dataclass(tp) or issubclass(tp, msgspec.Struct)):
        if tp in seen:
            return tp if seen[tp] is None else seen[tp]  # None: a recursive reference
        seen[tp] = None
        try:
            mirror = _record_mirror(tp, seen)
        except _NoMirror:
            mirror = tp
        seen[tp] = mirror
        return mirror
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        inner, *metadata = typing.get_args(tp)
        mirrored = _mirror(inner, seen)
        # a list stays a list under constraints: the same Meta then surely means the same
        if typing.get_origin(inner) is list and typing.get_origin(mirrored) is tuple:
            mirrored = list[typing.get_args(mirrored)[0]]  # type: ignore[misc]
        if mirrored is inner:
            return tp
        annotated = (mirrored, *metadata)
        return typing.Annotated[annotated]
    if origin in (set, frozenset):
        return tp
    if origin in (list, tuple, dict) or origin is typing.Union:
        args = typing.get_args(tp)
        if not args:
            return tp
        if origin is dict:
            mirrored = (args[0], _mirror(args[1], seen))
        else:
            mirrored = tuple(a if a is Ellipsis else _mirror(a, seen) for a in args)
        if origin is list:
            return tuple[mirrored[0], ...]  # type: ignore[valid-type]
        if mirrored == args:
            return tp
        if origin is typing.Union:
            return typing.Union[mirrored]  # noqa: UP007
        return origin[mirrored]
    if isinstance(tp, types.UnionType):
        args = typing.get_args(tp)
        mirrored = tuple(_mirror(a, seen) for a in args)
        return tp if mirrored == args else typing.Union[mirrored]  # noqa: UP007
    return tp


_Fields = list[tuple[str, Any] | tuple[str, Any, Any]]


def _record_mirror(tp: Any, seen: dict[Any, Any]) -> Any:
    if hasattr(tp, "__post_init__") or getattr(tp, "__parameters__", None):
        raise _NoMirror  # runs code on decode; or a generic type
    if issubclass(tp, msgspec.Struct):
        fields, options = _struct_fields(tp, seen)
    else:
        fields, options = _dataclass_fields(tp, seen)
    try:
        return msgspec.defstruct(f"_Check{tp.__name__}", fields, kw_only=True, gc=False, **options)
    except (TypeError, ValueError):
        raise _NoMirror from None


def _dataclass_fields(tp: Any, seen: dict[Any, Any]) -> tuple[_Fields, dict[str, Any]]:
    try:
        hints = typing.get_type_hints(tp, include_extras=True)  # Meta constraints are checked too
    except Exception:
        raise _NoMirror from None
    fields: _Fields = []
    for f in dataclasses.fields(tp):
        if not f.init or f.name.startswith("_"):
            raise _NoMirror
        ftype = _mirror(hints.get(f.name, Any), seen)
        if f.default is not dataclasses.MISSING:
            fields.append((f.name, ftype, f.default))
        elif f.default_factory is not dataclasses.MISSING:
            fields.append((f.name, ftype, msgspec.field(default_factory=f.default_factory)))
        else:
            fields.append((f.name, ftype))
    return fields, {}


def _struct_fields(tp: Any, seen: dict[Any, Any]) -> tuple[_Fields, dict[str, Any]]:
    config = tp.__struct_config__
    if config.tag is not None or tp.__struct_encode_fields__ != tp.__struct_fields__:
        raise _NoMirror  # tagged or renamed: the real type, rather than copy those rules
    try:
        infos = msgspec.structs.fields(tp)
    except Exception:
        raise _NoMirror from None
    fields: _Fields = []
    for info in infos:
        ftype = _mirror(info.type, seen)
        if info.default is not msgspec.NODEFAULT:
            fields.append((info.name, ftype, info.default))
        elif info.default_factory is not msgspec.NODEFAULT:
            fields.append((info.name, ftype, msgspec.field(default_factory=info.default_factory)))
        else:
            fields.append((info.name, ftype))
    return fields, {
        "array_like": config.array_like,
        "forbid_unknown_fields": config.forbid_unknown_fields,
    }


class _NoMirror(Exception):
    pass


_MISSING: Any = object()


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__qualname__
    return repr(tp).replace("typing.", "")


def build_procedure(service: str, interface: type, name: str) -> ProcedureCodec:
    function = getattr(interface, name)
    signature = inspect.signature(function)
    params = list(signature.parameters.values())
    if params and params[0].kind in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        params = params[1:]  # self
    signature = signature.replace(parameters=params)
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception:  # an annotation that does not resolve: fall back to no validation
        hints = {}
    positional: list[tuple[str, Any]] = []
    keyword: dict[str, Any] = {}
    var_positional: Any = None
    var_keyword: Any = None
    min_positional = 0
    needs_keywords = False
    for p in params:
        tp = hints.get(p.name, Any)
        if p.kind is inspect.Parameter.POSITIONAL_ONLY:
            positional.append((p.name, tp))
        elif p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            positional.append((p.name, tp))
            keyword[p.name] = tp
        elif p.kind is inspect.Parameter.VAR_POSITIONAL:
            var_positional = tp
        elif p.kind is inspect.Parameter.KEYWORD_ONLY:
            keyword[p.name] = tp
            if p.default is inspect.Parameter.empty:
                needs_keywords = True
        else:
            var_keyword = tp
        if (
            p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            and p.default is inspect.Parameter.empty
        ):
            min_positional = len(positional)
    return_type = hints.get("return", Any)
    streams = _streams(name, hints, positional, keyword)
    if streams.result:
        return_type = streams.result_item
    plain = _PLAIN_RESULTS.get(return_type)
    return ProcedureCodec(
        service=service,
        name=name,
        signature=signature,
        positional=positional,
        min_positional=min_positional,
        var_positional=var_positional,
        keyword=keyword,
        var_keyword=var_keyword,
        needs_keywords=needs_keywords,
        return_type=return_type,
        result_decoder=_decoder_for(return_type),
        _plain_result=plain,
        stream_result=streams.result,
        stream_param=streams.param,
        stream_param_index=streams.param_index,
        stream_item=streams.param_item,
        stream_item_decoder=None if streams.param is None else _decoder_for(streams.param_item),
    )


_STREAM_ORIGINS = (collections.abc.Iterator, collections.abc.AsyncIterator)


def _stream_item(tp: Any) -> tuple[bool, Any]:
    """Whether ``tp`` is ``Iterator[T]``/``AsyncIterator[T]`` (a stream), and ``T``."""
    if typing.get_origin(tp) in _STREAM_ORIGINS:
        args = typing.get_args(tp)
        return True, args[0] if args else Any
    if tp in _STREAM_ORIGINS:
        return True, Any
    return False, None


@dataclass(frozen=True)
class _Streams:
    result: bool = False
    result_item: Any = None
    param: str | None = None
    param_index: int | None = None
    param_item: Any = None


def _streams(
    proc: str, hints: dict[str, Any], positional: list[tuple[str, Any]], keyword: dict[str, Any]
) -> _Streams:
    """Which of a procedure's result and parameters stream. The streamed parameter's place in
    the request holds ``None`` (its items travel as StreamItem messages), so its declared
    type is replaced by ``None`` in ``positional``/``keyword``."""
    result, result_item = _stream_item(hints.get("return", Any))
    found: list[tuple[str, int | None, Any]] = []
    for index, (pname, tp) in enumerate(positional):
        is_stream, item = _stream_item(tp)
        if is_stream:
            found.append((pname, index, item))
            positional[index] = (pname, type(None))
    for pname, tp in keyword.items():
        is_stream, item = _stream_item(tp)
        if is_stream:
            if not any(f[0] == pname for f in found):
                found.append((pname, None, item))
            keyword[pname] = type(None)
    if len(found) > 1:
        raise TypeError(f"{proc}() streams more than one argument ({found[0][0]}, {found[1][0]})")
    if not found:
        return _Streams(result, result_item)
    return _Streams(result, result_item, found[0][0], found[0][1], found[0][2])


class ServiceCodec:
    """The procedure codecs of one service, keyed by procedure name."""

    def __init__(self, descriptor: ServiceDescriptor) -> None:
        self.procedures: dict[str, ProcedureCodec] = {
            name: build_procedure(descriptor.name, descriptor.interface, name)
            for name in descriptor.procedures
        }


@functools.cache
def service_codec(descriptor: ServiceDescriptor) -> ServiceCodec:
    """The (cached) codec of ``descriptor``'s service."""
    return ServiceCodec(descriptor)
