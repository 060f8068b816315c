"""The interface fingerprint: a hash of the normalised signatures, compared in the handshake."""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from srpc.compiler.model import CallKind, ProcedureModel

__all__ = ["fingerprint", "normalise"]


def normalise(expression: str | None) -> str | None:
    """Source text of an expression without whitespace, comments or redundant parentheses."""
    if expression is None:
        return None
    # Parenthesised so an expression split over lines (with comments) parses on its own.
    return ast.unparse(ast.parse(f"(\n{expression}\n)", mode="eval"))


def fingerprint(service: str, procedures: Sequence[ProcedureModel]) -> str:
    """sha256 hex over what a peer would notice: names, kinds, types, defaults, async, and
    the call kind (what streams).

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
        "params": [
            [p.name, p.kind.value, normalise(p.annotation), normalise(p.default)]
            for p in proc.params
        ],
        "returns": normalise(proc.returns),
    }
    # Only streaming calls carry their kind, so a unary service keeps the fingerprint that
    # stubs generated before streams have (and peers built from them still connect).
    if proc.kind is not CallKind.UNARY:
        out["call"] = proc.kind.value
    return out
