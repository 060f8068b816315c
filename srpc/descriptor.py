"""The plain-data description of a service that generated stubs hand to the runtime."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ServiceDescriptor"]


@dataclass(frozen=True)
class ServiceDescriptor:
    """What a generated stub declares about its service.

    ``interface`` is the user's ABC; the runtime reads parameter and return
    types from it (``inspect.signature`` + ``typing.get_type_hints``) to
    build typed codecs once per procedure. ``fingerprint`` is computed by
    ``srpc-stubgen`` from the normalised signatures and compared in the
    handshake. ``procedures`` lists the remote procedures in source order;
    nothing else is ever dispatched.
    """

    name: str
    interface: type
    fingerprint: str
    procedures: tuple[str, ...]
    deferred_names: tuple[tuple[str, str, str], ...] = ()
    """Names the interface's annotations use but imports only under ``TYPE_CHECKING``:
    ``(name, module, attribute)`` (attribute ``""``: the module itself). The runtime
    imports them when it builds the codecs, to resolve those annotations."""
