"""Typed per-procedure codecs, built once from the interface class.

The interface's signatures (``inspect.signature`` + ``typing.get_type_hints``)
give one msgspec decoder per parameter and one for the return type. The
server validates every argument before the implementation runs and
validates every result before it is sent; the client decodes results into
the declared type (``list[Record]`` comes back as ``Record`` instances).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import struct
import types
import typing
from dataclasses import dataclass, field
from typing import Any

import msgspec

from srpc.bounds import (
    MAX_ELEMENTS,
    MAX_NAME_ECHO,
    SCALAR_KEY,
    SCALAR_KEY_BYTES,
    NotRestrictable,
    UntypedTooCostly,
    check_untyped,
    contains_untyped,
    has_untyped_set,
    restrict,
    short_name,
)
from srpc.descriptor import ServiceDescriptor
from srpc.errors import InvalidArguments, InvalidResult
from srpc.framing import LARGE_FRAME
from srpc.protocol import TAG_REPLY, FrameBuffers

__all__ = ["DECODE_ERRORS", "ProcedureCodec", "ServiceCodec", "encoder", "service_codec"]

_EMPTY_RAW_MAP = msgspec.Raw(b"\x80")
# msgspec raises UnicodeDecodeError (a ValueError) for invalid UTF-8, DecodeError otherwise.
DECODE_ERRORS = (msgspec.DecodeError, ValueError, RecursionError)
_PATH = re.compile(r" - at `\$((?:\[\d+\])?)(.*)`$")
_MAX_CACHED_COUNTS = 32
_reply_frames = FrameBuffers()
_reply_head = msgspec.msgpack.Encoder().encode  # (5, id) -> fixarray-2 header, 5, id
_BIN32 = b"\xc6"
_frame_length = struct.Struct(">I").pack


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


def _map_length(raw: bytes | msgspec.Raw) -> int:
    view = memoryview(raw)
    try:
        head = view[0]
        if 0x80 <= head <= 0x8F:
            return head & 0x0F
        if head == 0xDE:
            return int.from_bytes(view[1:3], "big")
        if head == 0xDF:
            return int.from_bytes(view[1:5], "big")
    finally:
        view.release()
    raise msgspec.ValidationError("Expected `object`")


def _cut(text: str, limit: int = 4 * MAX_NAME_ECHO) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


@dataclass(frozen=True)
class _UntypedParams:
    """Which parameters of a procedure hold untyped values (checked by :mod:`srpc.bounds`).

    ``fast`` has, per parameter name (``*args``, ``**`` for the variadic ones),
    a decoder of its type with every untyped part restricted to what
    :func:`srpc.bounds.check_untyped` allows, nested at most ``FAST_DEPTH``
    deep: it checks and decodes in one pass in C, and when it refuses a value
    the slow path (the walk, then the declared type's decoder) decides.
    ``guard`` has a decoder for each parameter holding an untyped set, whose
    elements the walk does not see as keys: it runs after the walk.
    """

    positional: tuple[int, ...]
    var_positional: bool
    keyword: frozenset[str]
    var_keyword: bool
    fast: dict[str, msgspec.msgpack.Decoder[Any]]
    guard: dict[str, list[msgspec.msgpack.Decoder[Any]]]


def _contains_untyped(tp: Any) -> bool:
    """Whether values of ``tp`` can hold parts decoded as the bytes say, unvalidated."""
    return _decoder_for(tp) is _any_decoder or contains_untyped(tp)


def _fast_decoder(tp: Any) -> msgspec.msgpack.Decoder[Any] | None:
    try:
        return msgspec.msgpack.Decoder(restrict(tp, True))
    except (NotRestrictable, TypeError):
        return None


def _guard_decoder(tp: Any) -> list[msgspec.msgpack.Decoder[Any]] | None:
    """Decoders that refuse non-scalar elements in ``tp``'s untyped sets (None: it has none).

    One takes str elements, the other bytes (msgspec refuses a union of the
    two): a value passes when either accepts it.
    """
    if not has_untyped_set(tp):
        return None
    try:
        return [
            msgspec.msgpack.Decoder(restrict(tp, False, key))
            for key in (SCALAR_KEY, SCALAR_KEY_BYTES)
        ]
    except (NotRestrictable, TypeError):
        return None


def _accepts(decoder: msgspec.msgpack.Decoder[Any], raw: msgspec.Raw) -> bool:
    try:
        decoder.decode(raw)
    except DECODE_ERRORS:
        return False
    return True


class _BoundedDecoder:
    """A procedure's whole-arguments decoder for when some parameters are untyped.

    Arguments no longer than the element budget (so no more elements than
    that) go through ``fast``: the declared types with restricted untyped
    parts, checked and decoded in one pass in C. Anything ``fast`` refuses,
    and longer arguments, are walked (:func:`srpc.bounds.check_untyped`) and
    then decoded with the declared types.
    """

    __slots__ = ("_codec", "_decoder", "_fast")

    def __init__(
        self,
        decoder: msgspec.msgpack.Decoder[Any],
        fast: msgspec.msgpack.Decoder[Any] | None,
        codec: ProcedureCodec,
    ) -> None:
        self._decoder = decoder
        self._fast = fast
        self._codec = codec

    def decode(self, data: Any) -> Any:
        fast = self._fast
        if fast is not None and len(data) <= MAX_ELEMENTS:
            try:
                return fast.decode(data)
            except DECODE_ERRORS:
                pass  # maybe only outside the fast type (bytes, deeper nesting): walk it
        self._codec._check_untyped_args(memoryview(data))
        return self._decoder.decode(data)


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

    @property
    def label(self) -> str:
        return f"{self.service}.{self.name}()"

    # -- server side ---------------------------------------------------------

    def decode_args(
        self, args: msgspec.Raw | bytes, kwargs: msgspec.Raw | bytes
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Validate and decode a request's arguments, or raise :class:`InvalidArguments`."""
        full = self._args_decoder
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
        if count > MAX_ELEMENTS:  # a long *args would be split into that many parts first
            raise InvalidArguments(
                f"{self.label}: {count} positional arguments are over the limit of {MAX_ELEMENTS}"
            )
        if self._untyped.positional or self._untyped.var_positional:
            self._check_untyped_args(view)
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
    def _untyped(self) -> _UntypedParams:
        params = [(name, tp) for name, tp in self.positional]
        params += [(name, tp) for name, tp in self.keyword.items()]
        if self.var_positional is not None:
            params.append(("*args", self.var_positional))
        if self.var_keyword is not None:
            params.append(("**", self.var_keyword))
        fast: dict[str, msgspec.msgpack.Decoder[Any]] = {}
        guard: dict[str, list[msgspec.msgpack.Decoder[Any]]] = {}
        for name, tp in params:
            if not _contains_untyped(tp):
                continue
            decoder = _fast_decoder(tp)
            if decoder is not None:
                fast[name] = decoder
            guards = _guard_decoder(tp)
            if guards is not None:
                guard[name] = guards
        return _UntypedParams(
            positional=tuple(
                i for i, (_, tp) in enumerate(self.positional) if _contains_untyped(tp)
            ),
            var_positional=self.var_positional is not None
            and _contains_untyped(self.var_positional),
            keyword=frozenset(name for name, tp in self.keyword.items() if _contains_untyped(tp)),
            var_keyword=self.var_keyword is not None and _contains_untyped(self.var_keyword),
            fast=fast,
            guard=guard,
        )

    @functools.cached_property
    def _args_decoder(self) -> msgspec.msgpack.Decoder[Any] | None:
        """``_full_decoder``, preceded by the bounds check when a parameter is untyped."""
        full = self._full_decoder
        untyped = self._untyped
        if full is None or not untyped.positional:
            return full
        fast = None
        if all(name in untyped.fast for name, tp in self.positional if _contains_untyped(tp)):
            try:
                fast = msgspec.msgpack.Decoder(tuple.__class_getitem__(
                    tuple(restrict(tp, True) for _, tp in self.positional) or ()
                ))
            except (NotRestrictable, TypeError):
                fast = None
        return _BoundedDecoder(full, fast, self)  # type: ignore[return-value]

    def _check_untyped_args(self, args: memoryview) -> None:
        """Refuse untyped positional values over the bounds of :mod:`srpc.bounds`."""
        try:
            count = _array_length(args)
        except (IndexError, msgspec.ValidationError):
            raise InvalidArguments(f"{self.label}: positional arguments must be an array") from None
        if count > MAX_ELEMENTS or (count > len(self.positional) and self.var_positional is None):
            raise InvalidArguments(
                f"{self.label} takes {len(self.positional)} positional argument"
                f"{'' if len(self.positional) == 1 else 's'} but {count} were given"
            )
        try:
            items = _raw_list_decoder.decode(args)
        except DECODE_ERRORS as exc:
            raise InvalidArguments(f"{self.label}: malformed arguments: {exc}") from None
        untyped = self._untyped
        indexes: Any = untyped.positional
        if untyped.var_positional and len(items) > len(self.positional):
            indexes = (*indexes, *range(len(self.positional), len(items)))
        budget = MAX_ELEMENTS
        for i in indexes:
            if i >= len(items):
                break
            if i < len(self.positional):
                name = param = self.positional[i][0]
            else:
                name, param = f"*args[{i - len(self.positional)}]", "*args"
            budget = self._check_untyped_value(items[i], name, budget, param)

    def _check_untyped_value(
        self, raw: msgspec.Raw, name: str, budget: int, param: str | None = None
    ) -> int:
        """Walk one untyped value (``name`` in messages) and return the budget left."""
        try:
            left = check_untyped(memoryview(raw), budget=budget)[1]
            guards = self._untyped.guard.get(name if param is None else param)
            if guards is not None and not any(_accepts(guard, raw) for guard in guards):
                raise InvalidArguments(
                    f"{self.label}: argument {short_name(name)}: the elements of an untyped "
                    "set must be str, int, float, bool, bytes or None (not str and bytes both)"
                )
            return left
        except UntypedTooCostly as exc:
            raise InvalidArguments(
                f"{self.label}: argument {short_name(name)}: {exc.reason} - at `{name}{exc.path}`"
            ) from None
        except ValueError as exc:
            raise InvalidArguments(
                f"{self.label}: argument {short_name(name)}: malformed value: {exc}"
            ) from None

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
        # The map's header says how many names follow: past what the signature
        # takes, it is refused before a single name is decoded.
        try:
            count = _map_length(kwargs)
        except (IndexError, msgspec.ValidationError):
            count = -1
        if count < 0:
            raise InvalidArguments(
                f"{self.label}: keyword arguments must be a map of names to values"
            )
        if self.var_keyword is None and count > len(self.keyword):
            raise InvalidArguments(
                f"{self.label} takes {len(self.keyword)} keyword argument"
                f"{'' if len(self.keyword) == 1 else 's'} but {count} were given"
            )
        if count > MAX_ELEMENTS or count > len(kwargs):
            raise InvalidArguments(
                f"{self.label}: a map of {count} keyword arguments is over the limit "
                f"of {MAX_ELEMENTS}" if count <= len(kwargs)
                else f"{self.label}: malformed keyword arguments (truncated map)"
            )
        try:
            raw_map = _raw_map_decoder.decode(kwargs)
        except DECODE_ERRORS:
            raise InvalidArguments(
                f"{self.label}: keyword arguments must be a map of names to values"
            ) from None
        keyword = self.keyword
        if self.var_keyword is None:
            for key in raw_map:  # every name checked before any value is decoded
                if key not in keyword:
                    raise InvalidArguments(
                        f"{self.label} got an unexpected keyword argument {short_name(key)}"
                    )
        untyped = self._untyped
        budget = MAX_ELEMENTS
        decoded: dict[str, Any] = {}
        for key, raw in raw_map.items():
            tp = keyword.get(key, _MISSING)
            param = key
            if tp is _MISSING:
                tp, param = self.var_keyword, "**"
            if key in untyped.keyword if param == key else untyped.var_keyword:
                fast = untyped.fast.get(param)
                if fast is not None and len(raw) <= budget:
                    try:
                        decoded[key] = fast.decode(raw)
                    except DECODE_ERRORS:
                        pass  # the walk and the declared type's decoder say why
                    else:
                        budget -= len(raw)  # no more elements than bytes
                        continue
                budget = self._check_untyped_value(raw, key, budget, param)
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
                    f"{self.label}: argument {short_name(key)}: malformed value: {exc}"
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
        # msgspec's text can repeat the client's bytes (an unknown enum value, an unknown
        # field's name), and a **kwargs name is the client's: both are cut short.
        text = str(exc)
        match = _PATH.search(text)
        if match is None:
            if name:
                return (f"{self.label}: argument {short_name(name)}: {_cut(text)} "
                        f"- at `{name[:MAX_NAME_ECHO]}`")
            return f"{self.label}: {_cut(text)}"
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
        return (f"{self.label}: argument {short_name(name)}: {_cut(text[: match.start()])} "
                f"- at `{name[:MAX_NAME_ECHO]}{_cut(rest)}`")

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

    def encode_reply(self, id: int, value: Any) -> bytearray | list[bytes]:
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
            return [_frame_length(len(head) + size) + head, value]
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
        try:
            checked = _mirror(self.return_type, {})
        except _NoMirror:
            checked = self.return_type
        for tp in (checked, self.return_type):
            try:
                return msgspec.msgpack.Decoder(tuple[int, int, tp])  # type: ignore[valid-type]
            except TypeError:
                continue
        return None  # pragma: no cover - the result decoder was built from the same type

    # -- client side ---------------------------------------------------------

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
    """``tp`` with plain dataclasses replaced by equivalent ``msgspec.Struct`` types.

    Only for validating results on the server: msgspec decodes a Struct about
    twice as fast as a dataclass and accepts and rejects the same MessagePack
    for the same field types, names, defaults and extra keys. Anything
    unusual (``__post_init__``, ``init=False`` fields, recursion, unresolvable
    annotations) raises ``_NoMirror`` and the real type is used.
    """
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if tp in seen:
            if seen[tp] is None:  # a recursive dataclass
                raise _NoMirror
            return seen[tp]
        seen[tp] = None
        if hasattr(tp, "__post_init__"):
            raise _NoMirror
        try:
            hints = typing.get_type_hints(tp)
        except Exception:
            raise _NoMirror from None
        fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
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
        try:
            mirror = msgspec.defstruct(f"_Check{tp.__name__}", fields, kw_only=True, gc=False)
        except (TypeError, ValueError):
            raise _NoMirror from None
        seen[tp] = mirror
        return mirror
    origin = typing.get_origin(tp)
    if origin in (list, set, frozenset, tuple, dict) or origin is typing.Union:
        args = typing.get_args(tp)
        if not args:
            return tp
        mirrored = tuple(a if a is Ellipsis else _mirror(a, seen) for a in args)
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
    )


class ServiceCodec:
    """The procedure codecs of one service, keyed by procedure name."""

    def __init__(self, descriptor: ServiceDescriptor) -> None:
        self.descriptor = descriptor
        self.procedures: dict[str, ProcedureCodec] = {
            name: build_procedure(descriptor.name, descriptor.interface, name)
            for name in descriptor.procedures
        }


@functools.cache
def service_codec(descriptor: ServiceDescriptor) -> ServiceCodec:
    """The (cached) codec of ``descriptor``'s service."""
    return ServiceCodec(descriptor)
