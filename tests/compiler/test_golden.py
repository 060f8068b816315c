"""The rendered stubs, byte for byte; after a deliberate change: SRPC_UPDATE_GOLDENS=1 pytest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from srpc.compiler import generate
from tests.compiler.helpers import CALC, CORPUS

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("SRPC_UPDATE_GOLDENS") == "1"

CASES = {
    "calc": CALC,
    **{
        name: CORPUS / name / f"{name}_interface.py"
        for name in (
            "kinds",
            "asyncsvc",
            "futures",
            "generics",
            "docs",
            "timeline",
            "longsig",
            "streams",
            "callbacks",
        )
    },
    # Shapes from the real-interface corpus: a generic ABC, a Protocol over sibling-module
    # data types, inherited generic bases with their type arguments substituted.
    **{
        name: CORPUS / "real" / name / f"{name}_interface.py"
        for name in ("bot_persistence", "document_store", "object_stream")
    },
}


@pytest.mark.parametrize("service", sorted(CASES))
def test_rendered_stubs_match_the_goldens(service: str) -> None:
    files = generate(CASES[service]).files
    assert [name for name, _ in files] == [
        f"srpc_{service}_client_stub.py",
        f"srpc_{service}_server_stub.py",
    ]
    for name, text in files:
        golden = GOLDEN / name
        if UPDATE:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(text, encoding="utf-8")
        assert golden.is_file(), f"no golden {golden}; run with SRPC_UPDATE_GOLDENS=1"
        assert text == golden.read_text(encoding="utf-8"), f"{name} differs from its golden"
