"""How the stub compiler reports a problem: where, what it expected, what it found, how to fix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Diagnostic", "StubgenError"]


@dataclass(frozen=True)
class Diagnostic:
    """One finding about an interface file, with a ``file:line:col`` location (1-based)."""

    path: str
    line: int
    col: int
    expected: str
    found: str
    fix: str

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"

    def format(self, severity: str = "error") -> str:
        return (
            f"{self.location}: {severity}: expected {self.expected}; found {self.found}.\n"
            f"  fix: {self.fix}"
        )


class StubgenError(Exception):
    """The interface cannot be compiled; nothing is written.

    ``diagnostics`` holds every error found in the run (at least one), in file
    and position order; ``diagnostic`` is the first of them.
    """

    def __init__(self, diagnostic: Diagnostic | Sequence[Diagnostic]) -> None:
        found = (diagnostic,) if isinstance(diagnostic, Diagnostic) else tuple(diagnostic)
        assert found, "a StubgenError needs at least one diagnostic"
        self.diagnostics: tuple[Diagnostic, ...] = found
        self.diagnostic = found[0]
        text = "\n".join(d.format() for d in found)
        if len(found) > 1:
            text += f"\n{len(found)} errors"
        super().__init__(text)

    @classmethod
    def at(
        cls, path: str, line: int, col: int, *, expected: str, found: str, fix: str
    ) -> StubgenError:
        return cls(Diagnostic(path, line, col, expected, found, fix))
