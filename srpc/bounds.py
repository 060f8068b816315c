"""What one request's untyped (``Any``) values may cost to decode, checked before decoding.

msgspec validates typed parameters in C, and a typed decoder cannot be led
into pathological work: keys of ``dict[str, int]`` are strings, whose hash
is seeded. An untyped value is decoded as whatever the bytes say, and two
shapes of bytes make that decoding the attacker's tool:

- arrays as map keys: msgspec turns them into tuples, and tuples of small
  integers hash without a seed, so 60k keys that all hash alike make one
  dict insertion quadratic (96 s of event loop for a 905 KiB frame);
- many tiny elements: an empty array is one byte on the wire and ~64 bytes
  as a Python list, so 60 MiB of them is GiBs of RAM.

:func:`check_untyped` walks the MessagePack bytes of such a value without
building anything, and refuses map keys that are not str, int, float,
bool, bytes or None, nesting deeper than ``max_depth`` and more elements
than the request's remaining budget. It stops at the first violation, so
its cost is bounded by the budget, not by the frame. msgspec cannot do this
check itself: it refuses a union of ``str`` and ``bytes`` and recursive
aliases, which a restricted "any" type needs.

The second half of the module reads declared types: which contain
untyped parts (:func:`contains_untyped`), and the same type with those
parts restricted (:func:`restrict`) to what the walk allows, in a form
msgspec can check in C: ``restricted_any()`` is scalars without bytes,
lists and scalar-keyed maps, unrolled ``FAST_DEPTH`` levels deep. The codec
(:class:`srpc.codec.ProcedureCodec`) decodes an untyped parameter with its
restricted type first, and walks only what that refuses or what is longer
than the element budget (a value of ``n`` bytes has at most ``n`` elements).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import types
import typing
from typing import Any, Final

import msgspec

__all__ = [
    "FAST_DEPTH",
    "MAX_DEPTH",
    "MAX_ELEMENTS",
    "MAX_NAME_ECHO",
    "SCALAR_KEY",
    "SCALAR_KEY_BYTES",
    "NotRestrictable",
    "UntypedTooCostly",
    "check_untyped",
    "contains_untyped",
    "has_untyped_set",
    "restrict",
    "restricted_any",
    "short_name",
]

MAX_DEPTH: Final = 64
"""Containers nested deeper than this in an untyped value are refused."""

MAX_ELEMENTS: Final = 1 << 18
"""Elements (scalars, containers, map keys) of the untyped values of one request's
argument array, and again of its keyword map: at most ~100 bytes of Python objects
each (a map ``{1: []}`` per three elements is the worst), so ~25 MiB decoded."""

MAX_NAME_ECHO: Final = 64
"""Characters of a client-chosen name (a keyword argument) repeated in an error message."""


class UntypedTooCostly(ValueError):
    """An untyped value breaks a bound; ``path`` is where (``[2]{0}`` etc.), ``reason`` what."""

    def __init__(self, reason: str, path: str) -> None:
        super().__init__(f"{reason} - at `{path}`")
        self.reason = reason
        self.path = path


# What each first byte is. Scalars of a fixed total size carry it (> 0); the rest
# are negative codes. A map counts two items per entry: key, value.
_BAD = -99
_STR8, _STR16, _STR32 = -1, -2, -4
_BIN8, _BIN16, _BIN32 = -11, -12, -14
_EXT8, _EXT16, _EXT32 = -21, -22, -24
_ARR16, _ARR32, _MAP16, _MAP32 = -31, -32, -33, -34
_FIXARRAY, _FIXMAP, _FIXEXT = -40, -41, -42
_SIZE: list[int] = [_BAD] * 256
for _b in range(0x00, 0x80):
    _SIZE[_b] = 1
for _b in range(0xE0, 0x100):
    _SIZE[_b] = 1
for _b in range(0x80, 0x90):
    _SIZE[_b] = _FIXMAP
for _b in range(0x90, 0xA0):
    _SIZE[_b] = _FIXARRAY
for _b in range(0xA0, 0xC0):
    _SIZE[_b] = 1 + (_b & 0x1F)
_SIZE[0xC0] = _SIZE[0xC2] = _SIZE[0xC3] = 1
_SIZE[0xC4], _SIZE[0xC5], _SIZE[0xC6] = _BIN8, _BIN16, _BIN32
_SIZE[0xC7], _SIZE[0xC8], _SIZE[0xC9] = _EXT8, _EXT16, _EXT32
_SIZE[0xCA], _SIZE[0xCB] = 5, 9
_SIZE[0xCC], _SIZE[0xCD], _SIZE[0xCE], _SIZE[0xCF] = 2, 3, 5, 9
_SIZE[0xD0], _SIZE[0xD1], _SIZE[0xD2], _SIZE[0xD3] = 2, 3, 5, 9
for _b in range(0xD4, 0xD9):
    _SIZE[_b] = _FIXEXT
_SIZE[0xD9], _SIZE[0xDA], _SIZE[0xDB] = _STR8, _STR16, _STR32
_SIZE[0xDC], _SIZE[0xDD], _SIZE[0xDE], _SIZE[0xDF] = _ARR16, _ARR32, _MAP16, _MAP32
del _b

# First bytes allowed as a map key: nil, bool, int, float, str, bin.
_KEY_OK = bytes(
    1 if (s > 0 or s in (_STR8, _STR16, _STR32, _BIN8, _BIN16, _BIN32)) else 0 for s in _SIZE
)


def check_untyped(
    data: bytes | memoryview,
    pos: int = 0,
    *,
    budget: int = MAX_ELEMENTS,
    max_depth: int = MAX_DEPTH,
) -> tuple[int, int]:
    """Check the one MessagePack value at ``data[pos:]``; return ``(end, budget left)``.

    Raises :class:`UntypedTooCostly` for a non-scalar map key, nesting over
    ``max_depth`` or more than ``budget`` elements, and ``ValueError`` for
    bytes that are not MessagePack (truncated, 0xc1). Builds no objects
    besides its stack of open containers.
    """
    end = len(data)
    size = _SIZE
    key_ok = _KEY_OK
    # The enclosing containers: (items left after the one being read, items in all, is a map).
    stack: list[tuple[int, int, bool]] = []
    remaining = count = 1  # the innermost open container's; the top level holds one value
    in_map = False
    try:
        while True:
            if remaining == 0:
                if not stack:
                    if pos > end:
                        raise ValueError("truncated MessagePack value")
                    return pos, budget
                remaining, count, in_map = stack.pop()
                continue
            budget -= 1
            if budget < 0:
                raise UntypedTooCostly(
                    "too many elements in untyped values", _path(stack, remaining, count, in_map)
                )
            b = data[pos]
            kind = size[b]
            if in_map and not remaining & 1 and not key_ok[b]:
                raise UntypedTooCostly(
                    "a map key must be str, int, float, bool, bytes or None",
                    _path(stack, remaining, count, in_map),
                )
            if kind > 0:
                remaining -= 1
                pos += kind
                continue
            if kind >= _STR32:  # str 8/16/32
                n = -kind
                pos += 1 + n + int.from_bytes(data[pos + 1 : pos + 1 + n], "big")
                remaining -= 1
                continue
            if kind >= _BIN32:
                n = -kind - 10
                pos += 1 + n + int.from_bytes(data[pos + 1 : pos + 1 + n], "big")
                remaining -= 1
                continue
            if kind >= _EXT32:
                n = -kind - 20
                pos += 2 + n + int.from_bytes(data[pos + 1 : pos + 1 + n], "big")
                remaining -= 1
                continue
            if kind == _FIXEXT:
                pos += 2 + (1 << (b - 0xD4))
                remaining -= 1
                continue
            if kind == _FIXARRAY:
                items, mapped, head = b & 0x0F, False, 1
            elif kind == _FIXMAP:
                items, mapped, head = b & 0x0F, True, 1
            elif kind in (_ARR16, _MAP16):
                items = int.from_bytes(data[pos + 1 : pos + 3], "big")
                mapped, head = kind == _MAP16, 3
            elif kind in (_ARR32, _MAP32):
                items = int.from_bytes(data[pos + 1 : pos + 5], "big")
                mapped, head = kind == _MAP32, 5
            else:
                raise ValueError(f"invalid MessagePack byte 0x{b:02x} at offset {pos}")
            if items == 0:
                pos += head
                remaining -= 1
                continue
            if mapped:
                items *= 2
            if items > budget:  # refused on the header: none of it is walked
                raise UntypedTooCostly(
                    f"{'a map' if mapped else 'an array'} of {items // 2 if mapped else items} "
                    f"{'entries' if mapped else 'items'} is over the untyped element budget",
                    _path(stack, remaining, count, in_map),
                )
            if len(stack) >= max_depth:
                raise UntypedTooCostly(
                    f"untyped values nested deeper than {max_depth}",
                    _path(stack, remaining, count, in_map),
                )
            pos += head
            stack.append((remaining - 1, count, in_map))
            remaining = count = items
            in_map = mapped
    except IndexError:
        raise ValueError("truncated MessagePack value") from None


def _path(stack: list[tuple[int, int, bool]], remaining: int, count: int, in_map: bool) -> str:
    """Where the item about to be read sits: ``[i]`` in an array, ``{i}`` / ``{i}.key`` in a map."""
    steps = [(count - left - 1, mapped) for left, count, mapped in stack[1:]]
    if stack:
        steps.append((count - remaining, in_map))
    parts = []
    for index, mapped in steps:
        if mapped:
            parts.append(f"{{{index // 2}}}{'.key' if index % 2 == 0 else ''}")
        else:
            parts.append(f"[{index}]")
    return "".join(parts)


def short_name(name: str, limit: int = MAX_NAME_ECHO) -> str:
    """``repr(name)``, cut to ``limit`` characters plus the full length when longer."""
    if len(name) <= limit:
        return repr(name)
    return f"{name[:limit]!r}... ({len(name)} characters)"


# -- untyped parts of declared types ---------------------------------------------

_UNTYPED_ORIGINS = (list, dict, set, frozenset, tuple, collections.abc.Mapping,
                    collections.abc.Sequence, collections.abc.Set, collections.abc.Iterable)


def contains_untyped(tp: Any, seen: set[int] | None = None) -> bool:
    """Whether values of ``tp`` can hold untyped (``Any``) parts, decoded as the bytes say."""
    if tp is Any or tp is object or isinstance(tp, typing.TypeVar):
        return True
    if tp in _UNTYPED_ORIGINS or tp in (typing.List, typing.Dict, typing.Set, typing.Tuple):  # noqa: UP006
        return True  # a bare container: its items are untyped
    seen = set() if seen is None else seen
    if id(tp) in seen:
        return False
    seen.add(id(tp))
    origin = typing.get_origin(tp)
    if origin is not None:
        args = typing.get_args(tp)
        if origin is typing.Annotated:
            return contains_untyped(args[0], seen)
        if origin is typing.Literal:
            return False
        if origin in _UNTYPED_ORIGINS and not args:
            return True
        return any(a is not Ellipsis and contains_untyped(a, seen) for a in args)
    if isinstance(tp, types.UnionType):
        return any(contains_untyped(a, seen) for a in typing.get_args(tp))
    if isinstance(tp, type) and (
        dataclasses.is_dataclass(tp)
        or issubclass(tp, msgspec.Struct)
        or typing.is_typeddict(tp)
        or (issubclass(tp, tuple) and hasattr(tp, "_fields"))
    ):
        try:
            hints = typing.get_type_hints(tp)
        except Exception:
            return True
        return any(contains_untyped(h, seen) for h in hints.values())
    return False


SCALAR_KEY = typing.Union[None, bool, int, float, str]  # noqa: UP007
SCALAR_KEY_BYTES = typing.Union[None, bool, int, float, bytes]  # noqa: UP007
FAST_DEPTH = 8  # unrolled: building the type and its decoders costs ~2**depth (~10 ms at 8)


@functools.cache
def restricted_any() -> Any:
    """An "any" msgspec checks in C: scalars (no bytes: msgspec refuses a union of
    str and bytes), lists, and maps with scalar keys, nested at most ``FAST_DEPTH`` deep."""
    tp: Any = SCALAR_KEY
    for _ in range(FAST_DEPTH):
        tp = typing.Union[None, bool, int, float, str, list[tp], dict[SCALAR_KEY, tp]]  # noqa: UP007
    return tp


class NotRestrictable(Exception):
    """A type with untyped parts inside a dataclass, Struct, TypedDict...: walked only."""


_CONTAINERS: dict[Any, type] = {
    list: list, typing.List: list, collections.abc.Sequence: list,  # noqa: UP006
    collections.abc.Iterable: list, tuple: tuple, typing.Tuple: tuple,  # noqa: UP006
    dict: dict, typing.Dict: dict, collections.abc.Mapping: dict,  # noqa: UP006
    set: set, typing.Set: set, collections.abc.Set: set, frozenset: frozenset,  # noqa: UP006
    typing.FrozenSet: frozenset,  # noqa: UP006
}


def restrict(tp: Any, fast: bool, set_key: Any = SCALAR_KEY) -> Any:
    """``tp`` with its untyped parts restricted; :class:`NotRestrictable` if it cannot be.

    ``fast``: every untyped part becomes ``restricted_any()``, and untyped map
    keys ``SCALAR_KEY``. Otherwise only the elements of untyped sets change
    (to ``set_key``: arrays in a set decode as tuples, the flood's keys); the
    rest is left to the walk.
    """
    if not contains_untyped(tp):
        return tp
    if tp is Any or tp is object or isinstance(tp, typing.TypeVar):
        return restricted_any() if fast else Any
    try:
        bare = _CONTAINERS.get(tp)
    except TypeError:
        bare = None
    if bare is not None:
        return _restrict_container(bare, (), fast, set_key)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return typing.Annotated.__class_getitem__((restrict(args[0], fast, set_key), *args[1:]))
    if origin is typing.Union or isinstance(tp, types.UnionType):
        return typing.Union[tuple(restrict(a, fast, set_key) for a in args)]  # noqa: UP007
    container = _CONTAINERS.get(origin)
    if container is None:
        raise NotRestrictable(tp)  # a dataclass, Struct... with untyped fields: walk only
    return _restrict_container(container, args, fast, set_key)


def _untyped_leaf(tp: Any) -> bool:
    return tp is Any or tp is object or isinstance(tp, typing.TypeVar)


def _restrict_container(kind: type, args: tuple[Any, ...], fast: bool, set_key: Any) -> Any:
    if kind is dict:
        key, value = args or (Any, Any)
        key = (SCALAR_KEY if fast else Any) if _untyped_leaf(key) else restrict(key, fast, set_key)
        return dict.__class_getitem__((key, restrict(value, fast, set_key)))
    if kind is set or kind is frozenset:
        (element,) = args or (Any,)
        element = set_key if _untyped_leaf(element) else restrict(element, fast, set_key)
        return kind.__class_getitem__(element)
    if kind is tuple:
        if not args:
            return tuple.__class_getitem__((restrict(Any, fast, set_key), ...))
        return tuple.__class_getitem__(
            tuple(a if a is Ellipsis else restrict(a, fast, set_key) for a in args)
        )
    (element,) = args or (Any,)
    return list.__class_getitem__(restrict(element, fast, set_key))


def has_untyped_set(tp: Any, seen: set[int] | None = None) -> bool:
    """Whether ``tp`` has a set or frozenset whose elements are untyped, at any depth."""
    seen = set() if seen is None else seen
    if id(tp) in seen:
        return False
    seen.add(id(tp))
    try:
        if _CONTAINERS.get(tp) in (set, frozenset):
            return True
    except TypeError:
        pass
    origin = typing.get_origin(tp)
    if _CONTAINERS.get(origin) in (set, frozenset) and any(
        contains_untyped(a) for a in typing.get_args(tp)
    ):
        return True
    return any(has_untyped_set(a, seen) for a in typing.get_args(tp) if a is not Ellipsis)
