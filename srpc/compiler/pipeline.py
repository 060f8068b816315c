"""Interface file in, stub files out: parse, render, then write both atomically (or compare)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from srpc.compiler.errors import Diagnostic
from srpc.compiler.model import ServiceModel
from srpc.compiler.parser import parse_interface
from srpc.compiler.render import render

__all__ = ["GeneratedFiles", "generate", "write_stubs"]


@dataclass(frozen=True)
class GeneratedFiles:
    """The rendered stubs of one service, not yet written anywhere."""

    model: ServiceModel
    files: tuple[tuple[str, str], ...]
    """``(file name, text)`` pairs: the client stub, then the server stub."""
    warnings: tuple[Diagnostic, ...] = ()

    def write(self, out_dir: Path | str = ".") -> list[Path]:
        """Write every file into ``out_dir``; each appears whole or not at all."""
        directory = Path(out_dir)
        directory.mkdir(parents=True, exist_ok=True)
        staged: list[tuple[str, Path]] = []
        try:
            for name, text in self.files:
                fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
                staged.append((name, Path(tmp_name)))
                with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                    handle.write(text)
                # mkstemp makes the file 0600; give it the mode a plain open() would.
                os.chmod(tmp_name, 0o666 & ~_umask())
            for name, staged_path in staged:
                os.replace(staged_path, directory / name)
        finally:
            for _, staged_path in staged:
                staged_path.unlink(missing_ok=True)
        return [directory / name for name, _ in self.files]

    def stale(self, out_dir: Path | str = ".") -> list[Path]:
        """The files in ``out_dir`` that are missing or differ from what would be written."""
        directory = Path(out_dir)
        out: list[Path] = []
        for name, text in self.files:
            target = directory / name
            try:
                current = target.read_text(encoding="utf-8")
            except OSError:
                current = None
            if current != text:
                out.append(target)
        return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def generate(path: Path | str) -> GeneratedFiles:
    """Parse the interface at ``path`` (``N/N_interface.py``) and render its stubs.

    Raises :class:`srpc.compiler.errors.StubgenError` on any problem; writes nothing.
    """
    parsed = parse_interface(Path(path))
    rendered = render(parsed.model)
    return GeneratedFiles(model=parsed.model, files=rendered.items(), warnings=parsed.warnings)


def write_stubs(path: Path | str, out_dir: Path | str = ".") -> list[Path]:
    """``generate(path).write(out_dir)``: the one call tests and scripts need."""
    return generate(path).write(out_dir)
