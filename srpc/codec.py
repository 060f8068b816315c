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
import datetime
import decimal
import enum
import functools
import importlib
import inspect
import os
import pathlib
import re
import sys
import types
import typing
import uuid
from abc import ABC
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
from srpc.errors import InvalidArguments, InvalidResult, SrpcError
from srpc.framing import LARGE_FRAME, FrameBuffers, prefix_parts
from srpc.protocol import DECODE_ERRORS, TAG_REPLY

__all__ = [
    "InterfaceTypeError",
    "ProcedureCodec",
    "ServiceCodec",
    "encoder",
    "service_codec",
]

ABSTRACT_COLLECTIONS = (
    "Sequence",
    "MutableSequence",
    "Mapping",
    "MutableMapping",
    "Set",
    "MutableSet",
    "Collection",
    "Iterable",
    "Container",
    "Reversible",
)
"""The abstract collection types (``typing`` or ``collections.abc``) that travel whole, as
what they are built from: a list, a dict or a set. Stubgen accepts the same names."""

_EMPTY_RAW_MAP = msgspec.Raw(b"\x80")
_PATH = re.compile(r" - at `\$((?:\[\d+\])?)(.*)`$")
_MAX_CACHED_COUNTS = 32
_reply_frames = FrameBuffers()
_reply_head = msgspec.msgpack.Encoder().encode  # (5, id) -> fixarray-2 header, 5, id
_BIN32 = b"\xc6"


class InterfaceTypeError(SrpcError, TypeError):
    """A procedure's signature cannot be carried: raised when a client or server starts."""


def _enc_hook(obj: Any) -> Any:
    # msgspec encodes most SPEC types natively; the rest travel as what they are built from:
    # a path as its str, an abstract mapping as a dict, any other collection as a list.
    if isinstance(obj, memoryview):
        return obj.tobytes()
    if isinstance(obj, pathlib.PurePath):
        return str(obj)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if isinstance(obj, numpy.ndarray):
            return _array_to_wire(obj)
        if isinstance(obj, numpy.generic):
            return obj.item()
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None:
        if isinstance(obj, pydantic.BaseModel):
            return obj.model_dump(mode="python")
        if type(obj).__module__.startswith(("pydantic", "pydantic_core")):
            return str(obj)  # URLs, secrets and the like: their validated text
    if isinstance(obj, collections.abc.Mapping):
        return dict(obj)
    if isinstance(obj, collections.abc.Iterable) and not isinstance(obj, (str, bytes)):
        return list(obj)
    raise TypeError(f"srpc cannot encode objects of type {type(obj).__qualname__}")


def _dec_hook(tp: Any, obj: Any) -> Any:
    if isinstance(tp, type) and issubclass(tp, pathlib.PurePath) and isinstance(obj, str):
        return tp(obj)
    if _is_ndarray(tp):
        return _array_from_wire(obj)
    if _is_pydantic_model(tp):
        try:
            return tp.model_validate(obj)
        except ValueError as exc:  # pydantic.ValidationError
            raise msgspec.ValidationError(f"Expected `{tp.__qualname__}`: {exc}") from None
    raise msgspec.ValidationError(f"Expected `{_type_name(tp)}`, got `{type(obj).__name__}`")


encoder = msgspec.msgpack.Encoder(enc_hook=_enc_hook)
"""The encoder for user values (arguments, results, exception args)."""

_raw_list_decoder: msgspec.msgpack.Decoder[list[msgspec.Raw]] = msgspec.msgpack.Decoder(
    list[msgspec.Raw]
)
_raw_map_decoder: msgspec.msgpack.Decoder[dict[str, msgspec.Raw]] = msgspec.msgpack.Decoder(
    dict[str, msgspec.Raw]
)
_any_decoder: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder()


def _is_ndarray(tp: Any) -> bool:
    """Whether ``tp`` is ``numpy.ndarray`` (numpy is never imported for the question)."""
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(tp, type) and issubclass(tp, numpy.ndarray)


def _is_pydantic_model(tp: Any) -> bool:
    """Whether ``tp`` is a pydantic v2 model class (pydantic is never imported for it)."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(tp, type) and issubclass(tp, pydantic.BaseModel)


def _array_to_wire(array: Any) -> tuple[str, list[int], memoryview]:
    """An array as ``[dtype, shape, raw bytes in C order]``: one copy, into the frame."""
    numpy: Any = sys.modules["numpy"]  # loaded: ``array`` is one of its arrays

    if array.dtype.hasobject or array.dtype.fields is not None:
        raise TypeError(
            f"srpc cannot send arrays of dtype {array.dtype} (object and structured dtypes "
            "do not travel)"
        )
    contiguous = numpy.ascontiguousarray(array)
    return (contiguous.dtype.str, list(contiguous.shape), memoryview(contiguous).cast("B"))


def _array_from_wire(obj: Any) -> Any:
    """The array over the received bytes, without copying them (so it is read-only)."""
    numpy: Any = sys.modules["numpy"]  # loaded: the interface's annotations name it

    try:
        dtype_text, shape, raw = obj
        dtype = numpy.dtype(dtype_text)
        if dtype.hasobject or dtype.fields is not None:
            raise ValueError(f"dtype {dtype} does not travel")
        array = numpy.frombuffer(raw, dtype=dtype)
        return array.reshape([int(n) for n in shape])
    except (TypeError, ValueError) as exc:
        raise msgspec.ValidationError(
            f"Expected `ndarray` as [dtype, shape, bytes], got an invalid one ({exc})"
        ) from None


@dataclass(frozen=True)
class _DType:
    """The dtype an ``NDArray[...]`` annotation declares (checked after decoding)."""

    dtype: Any


def _declared_dtype(args: tuple[Any, ...]) -> Any:
    numpy: Any = sys.modules["numpy"]
    if len(args) != 2 or typing.get_origin(args[1]) is not numpy.dtype:
        return None
    (scalar,) = typing.get_args(args[1]) or (Any,)
    if isinstance(scalar, type) and issubclass(scalar, numpy.generic):
        return numpy.dtype(scalar)
    return None


def _has_dtype_checks(tp: Any) -> bool:
    if typing.get_origin(tp) is typing.Annotated:
        return any(isinstance(m, _DType) for m in tp.__metadata__)
    return any(_has_dtype_checks(a) for a in typing.get_args(tp) if a is not Ellipsis)


def _check_dtypes(value: Any, tp: Any) -> None:
    """Arrays in ``value`` have the dtypes ``tp`` declares (where it declares one)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        for meta in tp.__metadata__:
            if isinstance(meta, _DType) and getattr(value, "dtype", meta.dtype) != meta.dtype:
                raise msgspec.ValidationError(
                    f"Expected `ndarray` of dtype {meta.dtype}, got dtype {value.dtype}"
                )
        return
    args = typing.get_args(tp)
    if _is_union(tp):
        checked = [a for a in args if _has_dtype_checks(a)]
        for member in checked:
            try:
                _check_dtypes(value, member)
                return
            except msgspec.ValidationError:
                continue
        if checked and len(checked) == len(args):
            raise msgspec.ValidationError(f"Expected `{_type_name(tp)}`")
        return
    if isinstance(value, dict) and len(args) == 2:
        for key, item in value.items():
            _check_dtypes(key, args[0])
            _check_dtypes(item, args[1])
    elif isinstance(value, (list, tuple, set, frozenset)) and args:
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            for item, arg in zip(value, args, strict=False):
                _check_dtypes(item, arg)
        else:
            for item in value:
                _check_dtypes(item, args[0])


class _DTypeCheckingDecoder:
    """A msgspec decoder followed by the dtype checks of the ``NDArray[...]`` it holds."""

    def __init__(self, decoder: Any, tp: Any) -> None:
        self.decoder = decoder
        self.type = tp

    def decode(self, data: Any) -> Any:
        value = self.decoder.decode(data)
        _check_dtypes(value, self.type)
        return value


def _decoder_for(tp: Any) -> msgspec.msgpack.Decoder[Any]:
    decoder = _plain_decoder_for(tp)
    if _has_dtype_checks(tp):
        return _DTypeCheckingDecoder(decoder, tp)  # type: ignore[return-value]
    return decoder


def _plain_decoder_for(tp: Any) -> msgspec.msgpack.Decoder[Any]:
    try:
        return msgspec.msgpack.Decoder(tp, dec_hook=_dec_hook)
    except TypeError as exc:
        if "union" not in str(exc).lower():
            raise InterfaceTypeError(f"srpc cannot decode {_type_name(tp)}: {exc}") from None
        # A union msgspec cannot tell apart on the wire (two array-like or two object-like
        # members, at any depth): decoded as is, then validated and converted member by
        # member. Never left unvalidated.
        return _ConvertDecoder(tp)  # type: ignore[return-value]


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) is typing.Union or isinstance(tp, types.UnionType)


def _is_native(decoder: Any) -> bool:
    return isinstance(decoder, msgspec.msgpack.Decoder)


class _ConvertDecoder:
    """Validates what msgspec cannot validate in one pass: decode, then convert to ``tp``."""

    def __init__(self, tp: Any) -> None:
        self.type = tp

    def decode(self, data: Any) -> Any:
        return _convert(_any_decoder.decode(data), self.type)


def _convert(value: Any, tp: Any) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if _is_union(tp):
        for member in args:
            try:
                return _convert(value, member)
            except (msgspec.ValidationError, TypeError):
                continue
        raise msgspec.ValidationError(f"Expected `{_type_name(tp)}`, got `{type(value).__name__}`")
    if origin is typing.Annotated:
        return _convert(value, args[0])
    if origin in (list, set, frozenset, tuple) and args:
        if not isinstance(value, (list, tuple)):
            raise msgspec.ValidationError(f"Expected `array`, got `{type(value).__name__}`")
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                raise msgspec.ValidationError(
                    f"Expected `array` of length {len(args)}, got {len(value)}"
                )
            return tuple(_convert(v, a) for v, a in zip(value, args, strict=True))
        items = [_convert(v, args[0]) for v in value]
        return items if origin is list else origin(items)
    if origin is dict and len(args) == 2:
        if not isinstance(value, dict):
            raise msgspec.ValidationError(f"Expected `object`, got `{type(value).__name__}`")
        return {_convert(k, args[0]): _convert(v, args[1]) for k, v in value.items()}
    try:
        return msgspec.convert(value, tp, dec_hook=_dec_hook)
    except TypeError as exc:
        raise InterfaceTypeError(f"srpc cannot validate {_type_name(tp)}: {exc}") from None


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
    stream_result: bool = False
    """The result is a stream of ``return_type`` items (``Iterator[T]``/``AsyncIterator[T]``)."""
    stream_param: str | None = None
    """The parameter whose argument is a stream of ``stream_item`` items, if any; in the
    request its place holds ``None`` and the items follow as StreamItem messages."""
    stream_param_index: int | None = None
    """Its position among the positional parameters (``None``: keyword-only)."""
    stream_item: Any = None
    stream_item_decoder: msgspec.msgpack.Decoder[Any] | None = None
    callbacks: tuple[CallbackParam, ...] = ()
    """The callback parameters (SPEC 12a), in parameter order; in the request each one's
    place holds its index in this tuple, and the implementation gets a proxy there."""
    title: str = ""
    """The label of a callback's method, which is not a procedure of the service."""

    @property
    def label(self) -> str:
        return self.title or f"{self.service}.{self.name}()"

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
                fast = msgspec.msgpack.Decoder(
                    tuple.__class_getitem__(
                        tuple(restrict(tp, True) for _, tp in self.positional) or ()
                    )
                )
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
        if all(_is_native(_decoder_for(tp)) for tp in types):
            decoder = msgspec.msgpack.Decoder(
                tuple.__class_getitem__(tuple(types) or ()), dec_hook=_dec_hook
            )
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
                f"of {MAX_ELEMENTS}"
                if count <= len(kwargs)
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
                return (
                    f"{self.label}: argument {short_name(name)}: {_cut(text)} "
                    f"- at `{name[:MAX_NAME_ECHO]}`"
                )
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
        return (
            f"{self.label}: argument {short_name(name)}: {_cut(text[: match.start()])} "
            f"- at `{name[:MAX_NAME_ECHO]}{_cut(rest)}`"
        )

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
                return msgspec.msgpack.Decoder(
                    tuple[int, int, tp],  # type: ignore[valid-type]
                    dec_hook=_dec_hook,  # arrays, paths, pydantic models: checked, not re-encoded
                )
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


@dataclass(frozen=True)
class CallbackParam:
    """A parameter whose argument is a callback: an object implementing another interface of
    the module (``interface`` set) or a ``Callable[[A, B], R]`` (``interface`` is ``None``,
    its one method is ``__call__``)."""

    name: str
    index: int | None
    """Its position among the positional parameters (``None``: keyword-only)."""
    interface: type | None
    methods: dict[str, ProcedureCodec]
    """Each callable method's codec: the client validates the arguments, the server the
    result, as for a procedure."""
    is_async: dict[str, bool]
    """Whether each method is ``async def`` (a Callable whose result is awaitable)."""
    label: str


def replace_callbacks(
    params: tuple[CallbackParam, ...],
    label: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    new: collections.abc.Callable[[int, CallbackParam], Any],
) -> tuple[tuple[Any, ...], dict[str, Any], list[Any]]:
    """The arguments with ``new(number, param)`` in each callback's place, and what was
    there, in order: the caller puts numbers where its objects were, the server proxies
    where the numbers were. :class:`InvalidArguments` when a callback is missing."""
    values = list(args)
    kwargs = dict(kwargs)
    given: list[Any] = []
    for number, param in enumerate(params):
        if param.index is not None and param.index < len(values):
            given.append(values[param.index])
            values[param.index] = new(number, param)
        elif param.name in kwargs:
            given.append(kwargs[param.name])
            kwargs[param.name] = new(number, param)
        else:
            raise InvalidArguments(f"{label}: missing the callback {param.name!r}")
    return tuple(values), kwargs, given


_CALLABLE_ORIGINS = (collections.abc.Callable,)
_AWAITABLE_ORIGINS = (collections.abc.Awaitable, collections.abc.Coroutine)


def _callback_param(
    service: str,
    label: str,
    interface: type,
    pname: str,
    index: int | None,
    tp: Any,
    deferred_names: tuple[tuple[str, str, str], ...],
) -> CallbackParam | None:
    """The callback ``tp`` declares for parameter ``pname``, or ``None`` when it is data."""
    where = f"{label}: parameter {pname!r}"
    if typing.get_origin(tp) in _CALLABLE_ORIGINS or tp in _CALLABLE_ORIGINS:
        args = typing.get_args(tp)
        if len(args) != 2 or args[0] is Ellipsis or not isinstance(args[0], list):
            raise InterfaceTypeError(
                f"{where} is a Callable without typed parameters; declare them: "
                "Callable[[int, str], bool]"
            )
        params, result = args
        is_async = typing.get_origin(result) in _AWAITABLE_ORIGINS
        if is_async:
            inner = typing.get_args(result)
            result = inner[-1] if inner else Any
        holder = _callable_holder(params, result, is_async)
        codec = build_procedure(
            service,
            holder,
            "__call__",
            deferred_names,
            callback_of=f"callback {pname!r} of {label}",
        )
        return CallbackParam(pname, index, None, {"__call__": codec}, {"__call__": is_async}, where)
    if not (
        isinstance(tp, type)
        and inspect.isabstract(tp)
        and tp.__module__.partition(".")[0] not in sys.stdlib_module_names  # Iterator & co.
    ):
        return None
    if tp is interface or issubclass(interface, tp):
        raise InterfaceTypeError(f"{where}: the service's own interface cannot be a callback")
    names = [
        name
        for klass in reversed(tp.__mro__)
        for name in vars(klass)
        if name in getattr(tp, "__abstractmethods__", ())
    ]
    methods: dict[str, ProcedureCodec] = {}
    flags: dict[str, bool] = {}
    for method in dict.fromkeys(names):
        function = getattr(tp, method)
        if not callable(function):
            raise InterfaceTypeError(
                f"{where}: callback interface {tp.__qualname__} has a non-method "
                f"abstract member {method!r}"
            )
        methods[method] = build_procedure(
            service,
            tp,
            method,
            deferred_names,
            callback_of=f"callback {pname!r} of {label}: {tp.__qualname__}.{method}()",
        )
        flags[method] = inspect.iscoroutinefunction(function)
    return CallbackParam(pname, index, tp, methods, flags, where)


def _callable_holder(params: list[Any], result: Any, is_async: bool) -> type:
    """A class whose ``__call__`` declares ``params`` and ``result``: a Callable's codec is
    built like an interface method's."""

    def __call__(self: Any, *args: Any) -> Any:  # pragma: no cover - never called
        raise NotImplementedError

    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)]
    annotations: dict[str, Any] = {}
    for i, param in enumerate(params):
        parameters.append(
            inspect.Parameter(f"arg{i}", inspect.Parameter.POSITIONAL_ONLY, annotation=param)
        )
        annotations[f"arg{i}"] = param
    annotations["return"] = result
    __call__.__signature__ = inspect.Signature(parameters, return_annotation=result)  # type: ignore[attr-defined]
    __call__.__annotations__ = annotations
    return type("Callable", (), {"__call__": __call__})


def build_procedure(
    service: str,
    interface: type,
    name: str,
    deferred_names: tuple[tuple[str, str, str], ...] = (),
    *,
    callback_of: str | None = None,
) -> ProcedureCodec:
    """The codec of one procedure, or :class:`InterfaceTypeError` naming what cannot travel.

    Annotations resolve in the namespace of the module that defines the method
    (a base interface's own module for an inherited one), plus ``deferred_names``:
    the names the interface imports only under ``TYPE_CHECKING``, imported here.
    Validation is never silently off: an annotation that does not resolve is an error.
    """
    label = f"{service}.{name}()" if callback_of is None else callback_of
    function = getattr(interface, name)
    signature = inspect.signature(function)
    params = list(signature.parameters.values())
    if params and params[0].kind in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        params = params[1:]  # self
    signature = signature.replace(parameters=params)
    hints = {k: _concrete(v) for k, v in _type_hints(label, function, deferred_names).items()}
    positional: list[tuple[str, Any]] = []
    keyword: dict[str, Any] = {}
    var_positional: Any = None
    var_keyword: Any = None
    min_positional = 0
    needs_keywords = False
    callbacks: list[CallbackParam] = []
    for p in params:
        tp = hints.get(p.name, Any)
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            index = None if p.kind is inspect.Parameter.KEYWORD_ONLY else len(positional)
            callback = _callback_param(service, label, interface, p.name, index, tp, deferred_names)
            if callback is not None:
                if callback_of is not None:
                    raise InterfaceTypeError(
                        f"{label}: parameter {p.name!r}: a callback's methods cannot take "
                        "callbacks themselves"
                    )
                callbacks.append(callback)
                tp = int  # on the wire: the callback's index among the call's callbacks
        if p.default is None and not _admits_none(tp):
            tp = typing.Optional[tp]  # noqa: UP045 - implicit Optional, as stubgen types it
        is_stream, item = _stream_item(tp)
        if is_stream:  # a streamed argument: its items travel, one by one
            _check_travels(label, f"the items of parameter {p.name!r}", item)
        else:
            _check_travels(label, f"parameter {p.name!r}", tp)
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
    if callbacks and (streams.result or streams.param is not None):
        raise InterfaceTypeError(
            f"{label}: a procedure that streams cannot take callbacks (yet); pass the "
            "callback to a unary procedure"
        )
    if callback_of is not None and (streams.result or streams.param is not None):
        raise InterfaceTypeError(f"{label}: a callback's methods cannot stream")
    if streams.result:
        return_type = streams.result_item
    _check_travels(label, "the result", return_type)
    for where, tp in [
        *((f"parameter {n!r}", t) for n, t in positional),
        *((f"parameter {n!r}", t) for n, t in keyword.items()),
        ("*args", var_positional),
        ("**kwargs", var_keyword),
        ("the result", return_type),
        *([(f"the items of {streams.param!r}", streams.param_item)] if streams.param else []),
    ]:
        try:
            _decoder_for(tp)  # built now, so a type msgspec refuses fails at start
        except InterfaceTypeError as exc:
            raise InterfaceTypeError(f"{label}: {where}: {exc}") from None
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
        callbacks=tuple(callbacks),
        title="" if callback_of is None else label,
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


def _type_hints(
    label: str, function: Any, deferred_names: tuple[tuple[str, str, str], ...]
) -> dict[str, Any]:
    try:
        return typing.get_type_hints(function, include_extras=True)
    except Exception as exc:
        first: Exception = exc
    namespace: dict[str, Any] = {}
    missing: list[str] = []
    for bound, module, attr in deferred_names:
        try:
            value: Any = importlib.import_module(module)
            if attr:
                value = getattr(value, attr)
        except Exception as exc:
            missing.append(f"{bound} (from {module}: {type(exc).__name__}: {exc})")
            continue
        namespace[bound] = value
    if namespace:
        try:
            return typing.get_type_hints(function, localns=namespace, include_extras=True)
        except Exception as exc:
            first = exc
    also = f"; names imported only under TYPE_CHECKING that did not import: {', '.join(missing)}"
    raise InterfaceTypeError(
        f"{label}: its annotations do not resolve ({type(first).__name__}: {first})"
        f"{also if missing else ''}; srpc cannot validate its arguments without them"
    ) from None


_AS_LIST = frozenset(
    getattr(collections.abc, n)
    for n in ("Sequence", "MutableSequence", "Collection", "Iterable", "Container", "Reversible")
)
_AS_DICT = frozenset({collections.abc.Mapping, collections.abc.MutableMapping})
_AS_SET = frozenset({collections.abc.Set, collections.abc.MutableSet})


def _concrete(tp: Any) -> Any:
    """``tp`` with abstract collections replaced by what they travel as: list, dict, set."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is None:
        if tp is object or tp is collections.abc.Hashable:  # any value srpc can encode
            return Any
        if tp is os.PathLike:
            return pathlib.Path
        if tp in _AS_LIST:
            return list
        if tp in _AS_DICT:
            return dict
        return set if tp in _AS_SET else tp
    if _is_ndarray(origin):  # numpy.typing.NDArray[np.float32]: the dtype is checked on receipt
        dtype = _declared_dtype(args)
        return origin if dtype is None else typing.Annotated[origin, _DType(dtype)]
    if origin is os.PathLike:  # os.PathLike[str]: sent as its str, received as a Path
        return pathlib.Path
    if not args or origin in _CALLABLE_ORIGINS:  # a Callable is a callback: kept as declared
        return tp
    new = tuple(a if a is Ellipsis else _concrete(a) for a in args)
    if origin in _AS_LIST:
        return list[new[0]]  # type: ignore[valid-type]
    if origin in _AS_DICT:
        return dict[new[0], new[1]]  # type: ignore[valid-type]
    if origin in _AS_SET:
        return set[new[0]]  # type: ignore[valid-type]
    if new == args:
        return tp
    if _is_union(tp):
        return typing.Union[new]  # noqa: UP007
    if origin is typing.Annotated:
        annotated = (new[0], *tp.__metadata__)
        return typing.Annotated[annotated]
    try:
        return origin[new]
    except TypeError:
        return tp


def _admits_none(tp: Any) -> bool:
    if tp is Any or tp is object or tp is None or tp is type(None):
        return True
    if typing.get_origin(tp) is typing.Annotated:
        return _admits_none(typing.get_args(tp)[0])
    if isinstance(tp, typing.TypeVar):
        return True
    if typing.get_origin(tp) is typing.Literal:
        return None in typing.get_args(tp)
    return _is_union(tp) and any(_admits_none(a) for a in typing.get_args(tp))


_LEAVES: tuple[type, ...] = (
    bool,
    int,
    float,
    str,
    bytes,
    bytearray,
    memoryview,
    datetime.datetime,
    datetime.date,
    datetime.time,
    datetime.timedelta,
    uuid.UUID,
    decimal.Decimal,
    enum.Enum,
    pathlib.PurePath,
    msgspec.Raw,
)

_CONTAINERS = frozenset(
    {
        list,
        tuple,
        dict,
        set,
        frozenset,
        *(getattr(collections.abc, n) for n in ABSTRACT_COLLECTIONS),
    }
)


_TYPEDDICT_MARKS = tuple(
    mark
    for mark in (getattr(typing, "Required", None), getattr(typing, "NotRequired", None))
    if mark
)


def _check_travels(label: str, where: str, tp: Any) -> None:
    culprit = _cannot_travel(tp, set())
    if culprit is not None:
        raise InterfaceTypeError(
            f"{label}: {where} is declared {_type_name(tp)}, and srpc has no codec for "
            f"{culprit}; use a supported type (a dataclass, msgspec.Struct, builtin "
            "containers, ...) or convert it to one in the interface"
        )


def _cannot_travel(tp: Any, seen: set[int]) -> str | None:
    """The part of ``tp`` srpc cannot encode and validate, or None when all of it travels."""
    if tp is Any or tp is object or tp is None or tp is type(None) or tp is Ellipsis:
        return None
    if isinstance(tp, typing.TypeVar):
        bound = tp.__bound__
        return None if bound is None else _cannot_travel(bound, seen)
    supertype = getattr(tp, "__supertype__", None)
    if supertype is not None:  # typing.NewType
        return _cannot_travel(supertype, seen)
    if isinstance(tp, (str, typing.ForwardRef)):
        return f"the unresolved name {tp!r}"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _cannot_travel(args[0], seen)
    if origin is typing.Literal:
        return None
    if origin is not None and (_is_union(tp) or origin in _CONTAINERS):
        for arg in args:
            found = _cannot_travel(arg, seen)
            if found is not None:
                return found
        return None
    if origin is not None and origin in _TYPEDDICT_MARKS:
        return _cannot_travel(args[0], seen) if args else None
    if origin is not None:
        for arg in args:
            found = _cannot_travel(arg, seen)
            if found is not None:
                return found
        return _cannot_travel(origin, seen)
    if not isinstance(tp, type):
        return None  # other typing forms: msgspec decides when it builds the decoder
    if tp in _CONTAINERS or issubclass(tp, _LEAVES) or _is_ndarray(tp):
        return None
    if _is_pydantic_model(tp):
        return None  # validated by pydantic itself on receipt
    fields_of = (
        dataclasses.is_dataclass(tp)
        or issubclass(tp, msgspec.Struct)
        or typing.is_typeddict(tp)
        or (issubclass(tp, tuple) and hasattr(tp, "_fields"))
        or hasattr(tp, "__attrs_attrs__")
    )
    if not fields_of:
        return f"{tp.__module__}.{tp.__qualname__}"
    subclasses = [  # private helpers and generic parametrizations (Model[int]) do not count
        c for c in tp.__subclasses__() if not c.__name__.startswith("_") and "[" not in c.__name__
    ]
    if subclasses and not issubclass(tp, tuple):
        return (
            f"{tp.__qualname__} as declared: it has subclasses ({subclasses[0].__qualname__}), "
            f"and an instance of one would arrive as a {tp.__qualname__} without its own "
            "fields; declare the concrete types"
        )
    if inspect.isabstract(tp) or ABC in tp.__mro__:
        return (
            f"{tp.__qualname__} as declared: it is abstract, and an instance of a subclass "
            "would arrive without the subclass's own fields"
        )
    if id(tp) in seen:
        return None
    seen.add(id(tp))
    try:
        hints = typing.get_type_hints(tp, include_extras=True)
    except Exception as exc:
        return f"the fields of {tp.__qualname__} ({type(exc).__name__}: {exc})"
    for hint in hints.values():
        if typing.get_origin(hint) is typing.ClassVar:
            continue
        found = _cannot_travel(hint, seen)
        if found is not None:
            return found
    return None


class ServiceCodec:
    """The procedure codecs of one service, keyed by procedure name."""

    def __init__(self, descriptor: ServiceDescriptor) -> None:
        self.procedures: dict[str, ProcedureCodec] = {
            name: build_procedure(
                descriptor.name, descriptor.interface, name, descriptor.deferred_names
            )
            for name in descriptor.procedures
        }


@functools.cache
def service_codec(descriptor: ServiceDescriptor) -> ServiceCodec:
    """The (cached) codec of ``descriptor``'s service."""
    return ServiceCodec(descriptor)
