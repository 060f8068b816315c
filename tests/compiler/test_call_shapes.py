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
    stub = _function(f"{header}\n    return {proc.args_expr}, {proc.kwargs_expr}\n", "proc")
    impl = _function(f"{header}\n    return sorted(locals().items())\n", "proc")

    sent_args, sent_kwargs = stub(None, *args, **kwargs)
    assert isinstance(sent_args, tuple) and isinstance(sent_kwargs, dict)
    assert impl(None, *sent_args, **sent_kwargs) == impl(None, *args, **kwargs)
