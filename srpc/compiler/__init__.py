"""The stub compiler behind ``srpc-stubgen``; only the CLI and tests import it, never ``srpc``."""

from srpc.compiler.errors import Diagnostic, StubgenError
from srpc.compiler.pipeline import GeneratedFiles, generate, write_stubs

__all__ = ["Diagnostic", "GeneratedFiles", "StubgenError", "generate", "write_stubs"]
