"""How the stub compiler reports a problem: where, what it expected, what it found, how to fix."""

from __future__ import annotations

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
    """The interface cannot be compiled; nothing is written."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.format())
        self.diagnostic = diagnostic

    @classmethod
    def at(
        cls, path: str, line: int, col: int, *, expected: str, found: str, fix: str
    ) -> StubgenError:
        return cls(Diagnostic(path, line, col, expected, found, fix))
