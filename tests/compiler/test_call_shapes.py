"""Property: for any signature, what the stub sends lets the server call the implementation
exactly as the client called the stub (``impl.proc(*args, **kwargs)``, docs/ARCHITECTURE.md)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from srpc.compiler.parser import parse_interface_source


@st.composite
def signatures_and_calls(draw: st.DrawFn) -> tuple[str, list[Any], dict[str, Any]]:
    n_posonly = draw(st.integers(0, 2))
    n_plain = draw(st.integers(0, 2))
    star = draw(st.booleans())
    n_kwonly = draw(st.integers(0, 2))
    double_star = draw(st.booleans())
    n_positional = n_posonly + n_plain
    n_defaults = draw(st.integers(0, n_positional))
    params: list[str] = []
    for i in range(n_positional):
        default = " = -1" if i >= n_positional - n_defaults else ""
        params.append(f"p{i}: int{default}")
        if i == n_posonly - 1:
            params.append("/")
    if star:
        params.append("*rest: int")
    elif n_kwonly:
        params.append("*")
    kw_defaults = [draw(st.booleans()) for _ in range(n_kwonly)]
    params += [f"k{i}: int" + (" = -2" if d else "") for i, d in enumerate(kw_defaults)]
    if double_star:
        params.append("**extra: int")

    values = iter(range(1000))
    n_given = draw(st.integers(n_positional - n_defaults, n_positional))
    args = [next(values) for _ in range(n_given)]
    kwargs: dict[str, Any] = {}
    if star and n_given == n_positional:
        args += [next(values) for _ in range(draw(st.integers(0, 2)))]
    elif not star and n_given > n_posonly and draw(st.booleans()):
        # Pass the trailing positional-or-keyword arguments by name instead.
        for i in range(max(n_posonly, draw(st.integers(n_posonly, n_given))), n_given):
            kwargs[f"p{i}"] = args[i]
        args = args[: len(args) - len(kwargs)]
    for i, has_default in enumerate(kw_defaults):
        if not has_default or draw(st.booleans()):
            kwargs[f"k{i}"] = next(values)
    if double_star:
        for i in range(draw(st.integers(0, 2))):
            kwargs[f"x{i}"] = next(values)
    return ", ".join(params), args, kwargs


def _function(source: str, name: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    return namespace[name]


@settings(max_examples=100, deadline=None)
@given(signatures_and_calls())
def test_the_stub_call_rebinds_identically_on_the_server(
    case: tuple[str, list[Any], dict[str, Any]],
) -> None:
    params, args, kwargs = case
    source = (
        "from abc import ABC, abstractmethod\n"
        "class CalcInterface(ABC):\n"
        "    @abstractmethod\n"
        f"    def proc(self, {params}) -> int: ...\n"
    ).replace("(self, )", "(self)")
    proc = parse_interface_source(source, service="calc").model.procedures[0]
    header = f"def proc({', '.join(proc.parameter_sources)}):"
    assert proc.sync_parameter_sources == proc.parameter_sources  # nothing streams here
    stub = _function(f"{header}\n    return {proc.args_expr}, {proc.kwargs_expr}\n", "proc")
    impl = _function(f"{header}\n    return sorted(locals().items())\n", "proc")

    sent_args, sent_kwargs = stub(None, *args, **kwargs)
    assert isinstance(sent_args, tuple) and isinstance(sent_kwargs, dict)
    assert impl(None, *sent_args, **sent_kwargs) == impl(None, *args, **kwargs)


@settings(max_examples=60, deadline=None)
@given(signatures_and_calls(), st.data())
def test_a_streamed_parameter_rebinds_identically_and_only_its_annotation_differs(
    case: tuple[str, list[Any], dict[str, Any]], data: st.DataObject
) -> None:
    """The one documented exception to "the interface's exact signature" (docs/STUBGEN.md):
    a parameter declared ``Iterator[T]`` is ``Iterable[T]`` in the sync stub and
    ``Iterable[T] | AsyncIterable[T]`` in the async one; where it goes is unchanged."""
    params, args, kwargs = case
    parts = params.split(", ") if params else []
    candidates = [
        i for i, p in enumerate(parts) if ": int" in p and "=" not in p and not p.startswith("*")
    ]
    if not candidates:
        return
    chosen = data.draw(st.sampled_from(candidates))
    parts[chosen] = parts[chosen].replace(": int", ": Iterator[int]")
    source = (
        "from abc import ABC, abstractmethod\n"
        "from collections.abc import Iterator\n"
        "class CalcInterface(ABC):\n"
        "    @abstractmethod\n"
        f"    def proc(self, {', '.join(parts)}) -> int: ...\n"
    ).replace("(self, )", "(self)")
    proc = parse_interface_source(source, service="calc").model.procedures[0]
    name = parts[chosen].split(":")[0]
    declared, sync, asyn = (
        proc.parameter_sources, proc.sync_parameter_sources, proc.async_parameter_sources
    )  # fmt: skip
    for sources, want in ((sync, "Iterable[int]"), (asyn, "Iterable[int] | AsyncIterable[int]")):
        assert len(sources) == len(declared)
        for mine, theirs in zip(sources, declared, strict=True):
            if theirs == f"{name}: Iterator[int]":
                assert mine == f"{name}: {want}"
            else:
                assert mine == theirs
    assert proc.stream_param is not None and proc.stream_param.name == name
    header = f"def proc({', '.join(sync)}):"
    stub = _function(f"{header}\n    return {proc.args_expr}, {proc.kwargs_expr}\n", "proc")
    impl = _function(f"{header}\n    return sorted(locals().items())\n", "proc")
    sent_args, sent_kwargs = stub(None, *args, **kwargs)
    assert impl(None, *sent_args, **sent_kwargs) == impl(None, *args, **kwargs)
