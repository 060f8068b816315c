"""The README and docs stand on their own, and the licence pyproject names is in the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# a specification kept outside the repository, cited by name, path or section sign
OUTSIDE = re.compile(r"SPEC\.md|shared/|\bSPEC\b|§")


@pytest.mark.parametrize("page", DOCS, ids=lambda p: p.name)
def test_docs_cite_no_specification_outside_the_repository(page: Path) -> None:
    hits = [
        f"{page.name}:{n}: {line.strip()}"
        for n, line in enumerate(page.read_text().splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not hits


def test_license_file_matches_pyproject() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^license = "MIT"$', pyproject, re.MULTILINE)
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "Copyright (c) 2026 srpc authors" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text
