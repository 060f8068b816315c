"""The interface fingerprint: a hash of the normalised signatures, compared in the handshake."""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Sequence

from srpc.compiler.model import ProcedureModel

__all__ = ["fingerprint", "normalise"]


def normalise(expression: str | None) -> str | None:
    """Source text of an expression without whitespace, comments or redundant parentheses."""
    if expression is None:
        return None
    # Parenthesised so an expression split over lines (with comments) parses on its own.
    return ast.unparse(ast.parse(f"(\n{expression}\n)", mode="eval"))


def fingerprint(service: str, procedures: Sequence[ProcedureModel]) -> str:
    """sha256 hex over what a peer would notice: names, kinds, types, defaults, async.

    Docstrings, comments, formatting and the name of ``self`` do not count.
    """
    signature = {
        "service": service,
        "procedures": [
            {
                "name": proc.name,
                "async": proc.is_async,
                "params": [
                    [p.name, p.kind.value, normalise(p.annotation), normalise(p.default)]
                    for p in proc.params
                ],
                "returns": normalise(proc.returns),
            }
            for proc in procedures
        ],
    }
    text = json.dumps(signature, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
