"""The interface fingerprint: a hash of the normalised signatures, compared in the handshake."""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from srpc.compiler.model import CallbackModel, CallKind, ParamModel, ProcedureModel

__all__ = ["fingerprint", "normalise"]


def normalise(expression: str | None) -> str | None:
    """Source text of an expression without whitespace, comments or redundant parentheses."""
    if expression is None:
        return None
    # Parenthesised so an expression split over lines (with comments) parses on its own.
    return ast.unparse(ast.parse(f"(\n{expression}\n)", mode="eval"))


def fingerprint(service: str, procedures: Sequence[ProcedureModel]) -> str:
    """sha256 hex over what a peer would notice: names, kinds, types, defaults, async, the
    call kind (what streams), and the methods of each callback parameter's type.

    Docstrings, comments, formatting and the name of ``self`` do not count.
    """
    signature = {
        "service": service,
        "procedures": [_procedure(proc) for proc in procedures],
    }
    text = json.dumps(signature, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _procedure(proc: ProcedureModel) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": proc.name,
        "async": proc.is_async,
        "params": [_param(p) for p in proc.params],
        "returns": normalise(proc.returns),
    }
    # Likewise only procedures with callback parameters carry their callbacks' signatures.
    callbacks = {p.name: _callback(p.callback) for p in proc.params if p.callback is not None}
    if callbacks:
        out["callbacks"] = callbacks
    # Only streaming calls carry their kind, so a unary service keeps the fingerprint that
    # stubs generated before streams have (and peers built from them still connect).
    if proc.kind is not CallKind.UNARY:
        out["call"] = proc.kind.value
    return out


def _param(p: ParamModel) -> list[str | None]:
    return [p.name, p.kind.value, normalise(p.annotation), normalise(p.default)]


def _callback(callback: CallbackModel) -> dict[str, Any]:
    """A callback's type as a peer sees it: its methods' names, signatures and async-ness."""
    return {
        "interface": callback.interface,
        "methods": [
            {
                "name": m.name,
                "async": m.is_async,
                "params": [_param(p) for p in m.params],
                "returns": normalise(m.returns),
            }
            for m in callback.methods
        ],
    }
