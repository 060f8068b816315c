"""Run in a folder of generated stubs: every procedure of every named service, called for real.

For each service an implementation is made from the interface itself: each procedure
records what it received and returns a sample value of its declared result type. The
caller sends sample values of every parameter type through the generated sync and async
client stubs to a real server, and checks that the implementation received exactly
those values (same types, nothing truncated) and the caller got the result back equal.

Usage: python auto_roundtrip.py SERVICE... ; prints one JSON object {service: problem or
null} on the last line. Not a test module itself: it imports the generated stubs.
"""

from __future__ import annotations

import asyncio
import collections.abc
import dataclasses
import datetime as dt
import decimal
import enum
import importlib
import inspect
import json
import pathlib
import sys
import traceback
import types
import typing
import uuid
from typing import Any

import msgspec

from srpc.codec import service_codec


def _numpy() -> Any:
    return sys.modules.get("numpy")


def sample(tp: Any, depth: int = 0) -> Any:
    """A value of type ``tp`` that is not a default (so truncation shows)."""
    if depth > 16:
        raise ValueError(f"too deep a type to sample: {tp!r}")
    np = _numpy()
    if np is not None and isinstance(tp, type) and issubclass(tp, np.ndarray):
        return np.arange(6, dtype=np.float32).reshape(2, 3)
    if tp is Any or tp is object:
        return "any"
    if tp is None or tp is type(None):
        return None
    if isinstance(tp, typing.TypeVar):
        return sample(tp.__bound__, depth + 1) if tp.__bound__ is not None else 7
    supertype = getattr(tp, "__supertype__", None)
    if supertype is not None:
        return sample(supertype, depth + 1)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return sample(args[0], depth + 1)
    if origin is typing.Literal:
        return args[0]
    if origin is typing.Union or isinstance(tp, types.UnionType):
        members = [a for a in args if a is not type(None)]
        return sample(members[0], depth + 1) if members else None
    if origin in (getattr(typing, "Required", None), getattr(typing, "NotRequired", None)):
        return sample(args[0], depth + 1)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return (sample(args[0], depth + 1),)
        return tuple(sample(a, depth + 1) for a in args)
    if origin in (dict, collections.abc.Mapping, collections.abc.MutableMapping):
        key, value = args or (str, int)
        return {sample(key, depth + 1): sample(value, depth + 1)}
    if origin in (set, collections.abc.Set, collections.abc.MutableSet):
        return {sample(args[0] if args else int, depth + 1)}
    if origin is frozenset:
        return frozenset({sample(args[0] if args else int, depth + 1)})
    if origin is not None and (origin is list or origin in vars(collections.abc).values()):
        return [sample(args[0] if args else int, depth + 1)]
    if origin is not None:  # a generic data type, e.g. Box[int]
        return sample(origin, depth + 1)
    if tp in (list, collections.abc.Sequence, collections.abc.Iterable):
        return [1]
    if tp is dict:
        return {"k": 1}
    if tp in (set, frozenset):
        return tp({1})
    if tp is tuple:
        return (1,)
    plain = {
        bool: True,
        int: 7,
        float: 1.5,
        str: "s",
        bytes: b"b",
        bytearray: bytearray(b"ba"),
        dt.datetime: dt.datetime(2021, 2, 3, 4, 5, 6),
        dt.date: dt.date(2021, 2, 3),
        dt.time: dt.time(4, 5, 6),
        dt.timedelta: dt.timedelta(seconds=90),
        uuid.UUID: uuid.UUID(int=42),
        decimal.Decimal: decimal.Decimal("1.5"),
    }
    if tp in plain:
        return plain[tp]
    if isinstance(tp, type) and issubclass(tp, pathlib.PurePath):
        return tp("/tmp/sample")
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return list(tp)[-1]
    if isinstance(tp, type) and issubclass(tp, str):
        return tp("s")
    if isinstance(tp, type) and issubclass(tp, int):
        return tp(7)
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        return tp(**{n: sample(f.annotation, depth + 1) for n, f in tp.model_fields.items()})
    hints = typing.get_type_hints(tp, include_extras=True) if isinstance(tp, type) else {}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        values = {
            f.name: sample(hints[f.name], depth + 1) for f in dataclasses.fields(tp) if f.init
        }
        return tp(**values)
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return tp(**{f.name: sample(f.type, depth + 1) for f in msgspec.structs.fields(tp)})
    if typing.is_typeddict(tp):
        return {k: sample(v, depth + 1) for k, v in hints.items()}
    if isinstance(tp, type) and issubclass(tp, tuple) and hasattr(tp, "_fields"):
        return tp(*(sample(hints[f], depth + 1) for f in tp._fields))
    raise ValueError(f"no sample for {tp!r}")


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (a subclass arriving as its base is not)."""
    np = _numpy()
    if np is not None and isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and bool(np.array_equal(a, b))
        )
    if type(a) is not type(b) and not (isinstance(a, list) and isinstance(b, tuple)):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _pascal(service: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in service.split("_"))


def _received(codec: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """What a sync implementation received, its streamed argument read whole into a list."""
    if codec.stream_param is None:
        return args, kwargs
    index = codec.stream_param_index
    if index is not None and index < len(args):
        return (*args[:index], list(args[index]), *args[index + 1 :]), kwargs
    return args, {**kwargs, codec.stream_param: list(kwargs[codec.stream_param])}


async def _areceived(codec: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if codec.stream_param is None:
        return args, kwargs
    index = codec.stream_param_index
    if index is not None and index < len(args):
        items = [x async for x in args[index]]
        return (*args[:index], items, *args[index + 1 :]), kwargs
    return args, {**kwargs, codec.stream_param: [x async for x in kwargs[codec.stream_param]]}


def _declares_async(function: Any, key: str) -> bool:
    """Whether the annotation ``key`` of ``function`` is an ``AsyncIterator[...]``."""
    try:
        hint = typing.get_type_hints(function)[key]
    except Exception:  # a name imported only under TYPE_CHECKING: read the text
        return "AsyncIterator" in str(function.__annotations__[key])
    return typing.get_origin(hint) is collections.abc.AsyncIterator


def _implementation(interface: type, codecs: dict[str, Any], log: list[Any]) -> Any:
    methods: dict[str, Any] = {}
    for name, codec in codecs.items():
        result = sample(codec.return_type)

        def make(name: str = name, result: Any = result, codec: Any = codec) -> Any:
            def call(self: Any, *args: Any, **kwargs: Any) -> Any:
                log.append((name, *_received(codec, args, kwargs)))
                return result

            async def acall(self: Any, *args: Any, **kwargs: Any) -> Any:
                log.append((name, *await _areceived(codec, args, kwargs)))
                return result

            def stream(self: Any, *args: Any, **kwargs: Any) -> Any:
                log.append((name, *_received(codec, args, kwargs)))
                yield result

            async def astream(self: Any, *args: Any, **kwargs: Any) -> Any:
                log.append((name, *await _areceived(codec, args, kwargs)))
                yield result

            declared = getattr(interface, name)
            if codec.stream_result:
                return astream if _declares_async(declared, "return") else stream
            if codec.stream_param is not None and _declares_async(declared, codec.stream_param):
                return acall  # the implementation's kind: as the param says
            return acall if inspect.iscoroutinefunction(declared) else call

        methods[name] = make()
    impl_class = type("AutoImpl", (interface,), methods)
    return impl_class()


def _calls(codecs: dict[str, Any]) -> list[tuple[str, tuple[Any, ...], dict[str, Any], Any]]:
    """Each call's arguments (a streamed one as a list of one sample item) and result (a
    streamed one as the list of its items)."""
    out = []
    for name, codec in codecs.items():
        args = tuple(
            [sample(codec.stream_item)] if pname == codec.stream_param else sample(tp)
            for pname, tp in codec.positional
        )
        kwargs = {
            p.name: [sample(codec.stream_item)]
            if p.name == codec.stream_param
            else sample(codec.keyword[p.name])
            for p in codec.signature.parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        }
        want = sample(codec.return_type)
        out.append((name, args, kwargs, [want] if codec.stream_result else want))
    return out


def check(service: str) -> str | None:
    pascal = _pascal(service)
    client = importlib.import_module(f"srpc_{service}_client_stub")
    server = importlib.import_module(f"srpc_{service}_server_stub")
    descriptor = client.SERVICE
    codecs = service_codec(descriptor).procedures
    log: list[Any] = []
    impl = _implementation(descriptor.interface, codecs, log)
    calls = _calls(codecs)
    server_stub = getattr(server, f"Srpc{pascal}ServerStub")
    sync_stub = getattr(client, f"Srpc{pascal}ClientStub")
    async_stub = getattr(client, f"Srpc{pascal}AsyncClientStub")
    problems: list[str] = []

    def compare(how: str, name: str, args: Any, kwargs: Any, want: Any, got: Any) -> None:
        seen = log.pop(0) if log else None
        if seen is None or seen[0] != name:
            problems.append(f"{how} {name}: implementation saw {seen!r}")
            return
        if not (same(list(seen[1]), list(args)) and same(seen[2], kwargs)):
            problems.append(f"{how} {name}: sent {args!r} {kwargs!r}, received {seen[1:]!r}")
        if not same(got, want):
            problems.append(f"{how} {name}: returned {want!r}, caller got {got!r}")

    with server_stub(port=0, metrics_log=None, impl=impl) as running:
        with sync_stub(*running.address, timeout=10) as stub:
            for name, args, kwargs, want in calls:
                got = getattr(stub, name)(*args, **kwargs)
                if codecs[name].stream_result:
                    with got as stream:
                        got = list(stream)
                compare("sync", name, args, kwargs, want, got)

        async def run_async() -> None:
            async with async_stub(*running.address, timeout=10) as stub:
                for name, args, kwargs, want in calls:
                    if codecs[name].stream_result:
                        async with getattr(stub, name)(*args, **kwargs) as stream:
                            got = [x async for x in stream]
                    else:
                        got = await getattr(stub, name)(*args, **kwargs)
                    compare("async", name, args, kwargs, want, got)

        asyncio.run(run_async())
    return "; ".join(problems) or None


def main() -> None:
    results: dict[str, str | None] = {}
    for service in sys.argv[1:]:
        try:
            results[service] = check(service)
        except Exception as exc:
            results[service] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc(file=sys.stderr)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
