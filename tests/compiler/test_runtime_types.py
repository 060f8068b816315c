"""What the runtime does with an interface's types when a client or server starts.

Validation is never silently off: an annotation that does not resolve, or a type srpc
has no codec for, is an error at start that names the procedure and the place.
"""

from __future__ import annotations

import datetime
import importlib
import pathlib
import sys
import tempfile
import textwrap
import types
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import msgspec
import pytest

from srpc import InvalidArguments, InvalidResult, ServiceDescriptor
from srpc.codec import InterfaceTypeError, ServiceCodec, build_procedure, encoder

_MODULES = Path(tempfile.mkdtemp(prefix="srpc_runtime_types_"))


def _module(name: str, source: str) -> types.ModuleType:
    """Write ``source`` as module ``name`` and import it (the interfaces are real modules)."""
    (_MODULES / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    if str(_MODULES) not in sys.path:
        sys.path.insert(0, str(_MODULES))
    importlib.invalidate_caches()
    return importlib.import_module(name)


def _args(*values: Any) -> bytes:
    return encoder.encode(values)


class Plain:
    pass


class PlainInterface(ABC):
    @abstractmethod
    def f(self, x: int, y: Fraction) -> None: ...


class ResultInterface(ABC):
    @abstractmethod
    def g(self) -> list[Plain]: ...


@pytest.mark.parametrize(
    ("interface", "fragments"),
    [
        (PlainInterface, ["svc.f(): parameter 'y' is declared Fraction", "fractions.Fraction"]),
        (ResultInterface, ["svc.g(): the result is declared list[", "Plain"]),
    ],
)
def test_a_type_without_a_codec_is_an_error_at_start(interface: type, fragments: list[str]) -> None:
    descriptor = ServiceDescriptor("svc", interface, "0" * 64, tuple(interface.__abstractmethods__))
    with pytest.raises(InterfaceTypeError) as info:
        ServiceCodec(descriptor)
    assert isinstance(info.value, TypeError)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_an_annotation_that_does_not_resolve_is_an_error_naming_the_procedure() -> None:
    module = _module(
        "srpc_test_unresolved",
        """
        from abc import ABC, abstractmethod

        class BrokenInterface(ABC):
            @abstractmethod
            def f(self, x: "Missing") -> int: ...
        """,
    )
    with pytest.raises(InterfaceTypeError, match=r"svc\.f\(\): its annotations do not resolve"):
        build_procedure("svc", module.BrokenInterface, "f")


def test_type_checking_names_resolve_from_the_descriptor_and_are_validated() -> None:
    _module(
        "srpc_test_models",
        """
        from dataclasses import dataclass

        @dataclass
        class Job:
            id: int
        """,
    )
    module = _module(
        "srpc_test_deferred",
        """
        from __future__ import annotations
        from abc import ABC, abstractmethod
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from srpc_test_models import Job

        class DeferredInterface(ABC):
            @abstractmethod
            def f(self, job: Job) -> int: ...
        """,
    )
    with pytest.raises(InterfaceTypeError, match="do not resolve"):
        build_procedure("svc", module.DeferredInterface, "f")
    codec = build_procedure(
        "svc", module.DeferredInterface, "f", (("Job", "srpc_test_models", "Job"),)
    )
    job = sys.modules["srpc_test_models"].Job
    assert codec.decode_args(_args({"id": 3}), b"\x80") == ((job(3),), {})
    with pytest.raises(InvalidArguments, match="Expected `int`, got `str`"):
        codec.decode_args(_args({"id": "x"}), b"\x80")


def test_a_deferred_name_that_does_not_import_is_named() -> None:
    module = _module(
        "srpc_test_deferred_missing",
        """
        from __future__ import annotations
        from abc import ABC, abstractmethod

        class DeferredInterface(ABC):
            @abstractmethod
            def f(self, job: Job) -> int: ...
        """,
    )
    with pytest.raises(InterfaceTypeError, match=r"Job \(from no_such_module_here"):
        build_procedure(
            "svc", module.DeferredInterface, "f", (("Job", "no_such_module_here", "Job"),)
        )


class CollectionsInterface(ABC):
    @abstractmethod
    def f(
        self, a: Iterable[int], b: Mapping[str, int], c: Sequence[pathlib.Path], d: object
    ) -> Mapping[str, pathlib.PurePosixPath]: ...

    @abstractmethod
    def g(self, ttl: int = None) -> int: ...  # type: ignore[assignment]  # noqa: RUF013

    @abstractmethod
    def h(self, v: tuple[str, int] | tuple[str, int, int]) -> int: ...


def test_abstract_collections_paths_object_implicit_optional_and_ambiguous_unions() -> None:
    f = build_procedure("svc", CollectionsInterface, "f")
    values, _ = f.decode_args(_args((1, 2), {"k": 1}, ["/a"], {"any": [1]}), b"\x80")
    assert values == ([1, 2], {"k": 1}, [pathlib.Path("/a")], {"any": [1]})
    assert type(values[2][0]) is type(pathlib.Path("/a"))
    assert f.decode_result(encoder.encode({"x": pathlib.PurePosixPath("/b")})) == {
        "x": pathlib.PurePosixPath("/b")
    }
    with pytest.raises(InvalidArguments, match="Expected `int`, got `str`"):
        f.decode_args(_args(["x"], {}, [], 1), b"\x80")
    g = build_procedure("svc", CollectionsInterface, "g")
    assert g.decode_args(_args(None), b"\x80") == ((None,), {})
    h = build_procedure("svc", CollectionsInterface, "h")
    assert h.decode_args(_args(("a", 1, 2)), b"\x80") == ((("a", 1, 2),), {})
    with pytest.raises(InvalidArguments):
        h.decode_args(_args(("a", "b")), b"\x80")


def test_generators_and_mapping_views_are_sent_as_lists_and_dicts() -> None:
    assert msgspec.msgpack.decode(encoder.encode(i for i in range(3))) == [0, 1, 2]
    assert msgspec.msgpack.decode(encoder.encode(types.MappingProxyType({"a": 1}))) == {"a": 1}
    assert msgspec.msgpack.decode(encoder.encode(pathlib.Path("/x"))) == "/x"


def test_client_and_server_refuse_to_start_on_such_a_type() -> None:
    from srpc import Server, SyncClient

    descriptor = ServiceDescriptor("svc", PlainInterface, "0" * 64, ("f",))

    class Client(SyncClient):
        _srpc_service = descriptor

    class Serving(Server):
        _srpc_service = descriptor

    with pytest.raises(InterfaceTypeError, match="parameter 'y'"):
        Client("127.0.0.1", 1)
    with pytest.raises(InterfaceTypeError, match="parameter 'y'"):
        Serving(port=0, impl=object(), metrics_log=None)


def test_numpy_arrays_travel_as_dtype_shape_and_raw_bytes() -> None:
    np = pytest.importorskip("numpy")
    module = _module(
        "srpc_test_arrays",
        """
        from abc import ABC, abstractmethod

        import numpy as np
        import numpy.typing as npt

        class ArraysInterface(ABC):
            @abstractmethod
            def scale(self, a: np.ndarray, factor: float) -> npt.NDArray[np.float32]: ...

            @abstractmethod
            def keep(self, arrays: list[npt.NDArray[np.float32]]) -> int: ...
        """,
    )
    codec = build_procedure("svc", module.ArraysInterface, "scale")
    source = np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2]  # not C-contiguous
    wire = encoder.encode((source, 2.0))
    (received, factor), _ = codec.decode_args(wire, b"\x80")
    assert received.dtype == np.float32 and received.shape == (3, 2)
    assert np.array_equal(received, source) and factor == 2.0
    assert not received.flags.writeable  # a view of the received bytes, not a copy
    big = np.zeros(1 << 20, dtype=np.float32)
    data = encoder.encode(big)
    assert len(data) < big.nbytes + 64  # raw bytes, not a list of numbers
    assert np.array_equal(codec.decode_result(data), big)
    with pytest.raises(TypeError, match="object and structured dtypes"):
        encoder.encode(np.array([object()], dtype=object))
    with pytest.raises(InvalidArguments, match="Expected `ndarray`"):
        codec.decode_args(_args(["|O", [1], b"12345678"], 1.0), b"\x80")
    with pytest.raises(InvalidArguments, match="Expected `ndarray`"):
        codec.decode_args(_args(["<f4", [3], b"1234"], 1.0), b"\x80")
    assert msgspec.msgpack.decode(encoder.encode(np.float32(1.5))) == 1.5
    with pytest.raises(InvalidResult, match="Expected `ndarray` of dtype float32, got"):
        codec.decode_result(encoder.encode(np.zeros(3, dtype=np.int64)))
    with pytest.raises(InvalidArguments, match="of dtype float32"):
        build_procedure("svc", module.ArraysInterface, "keep").decode_args(
            _args([np.zeros(2, dtype=np.int8)]), b"\x80"
        )
    keep = build_procedure("svc", module.ArraysInterface, "keep")
    (arrays,), _ = keep.decode_args(_args([np.ones(2, dtype=np.float32)]), b"\x80")
    assert arrays[0].dtype == np.float32


def test_an_abstract_dataclass_is_refused_at_start() -> None:
    module = _module(
        "srpc_test_abstract_event",
        """
        import dataclasses
        from abc import ABC, abstractmethod

        @dataclasses.dataclass
        class Event(ABC):
            at: float

        class EventsInterface(ABC):
            @abstractmethod
            def publish(self, event: Event) -> None: ...
        """,
    )
    with pytest.raises(InterfaceTypeError, match="would arrive without the subclass's own"):
        build_procedure("svc", module.EventsInterface, "publish")


def test_pydantic_models_are_validated_on_receipt_as_the_declared_model() -> None:
    pytest.importorskip("pydantic")
    module = _module(
        "srpc_test_pydantic",
        """
        import datetime
        from abc import ABC, abstractmethod

        from pydantic import BaseModel, Field

        class Tag(BaseModel):
            name: str

        class Item(BaseModel):
            id: int = Field(gt=0)
            at: datetime.datetime
            tags: list[Tag] = []

        class ItemsInterface(ABC):
            @abstractmethod
            def put(self, item: Item) -> Item: ...
        """,
    )
    codec = build_procedure("svc", module.ItemsInterface, "put")
    item = module.Item(id=1, at=datetime.datetime(2020, 1, 2), tags=[module.Tag(name="a")])
    (received,), _ = codec.decode_args(encoder.encode((item,)), b"\x80")
    assert type(received) is module.Item and received == item
    assert codec.decode_result(encoder.encode(item)) == item
    with pytest.raises(InvalidArguments, match="Expected `Item`"):
        codec.decode_args(_args({"id": 0, "at": "2020-01-02T00:00:00"}), b"\x80")


def test_a_type_msgspec_refuses_fails_at_start_not_at_the_first_call() -> None:
    module = _module(
        "srpc_test_odd_enum",
        """
        import enum
        from abc import ABC, abstractmethod

        class Pair(enum.Enum):
            A = (1, 2)

        class OddInterface(ABC):
            @abstractmethod
            def f(self, *, p: Pair) -> None: ...
        """,
    )
    with pytest.raises(InterfaceTypeError, match=r"svc\.f\(\): parameter 'p': srpc cannot decode"):
        build_procedure("svc", module.OddInterface, "f")


def test_a_data_type_with_subclasses_is_refused_at_start() -> None:
    module = _module(
        "srpc_test_event_subclass",
        """
        import dataclasses
        from abc import ABC, abstractmethod

        @dataclasses.dataclass
        class Event:
            at: float

        @dataclasses.dataclass
        class Click(Event):
            x: int

        class EventsInterface(ABC):
            @abstractmethod
            def publish(self, event: Event) -> Click: ...
        """,
    )
    with pytest.raises(InterfaceTypeError, match=r"parameter 'event'.*has subclasses \(Click\)"):
        build_procedure("svc", module.EventsInterface, "publish")
