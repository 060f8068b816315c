"""srpc: Python RPC whose interface language is Python.

Generated stubs subclass :class:`SyncClient`, :class:`AsyncClient` and
:class:`Server`; users mostly meet the exception types below.
Importing ``srpc`` never imports the stub compiler (libcst, jinja2, typer).
"""

from srpc._version import __version__
from srpc.callbacks import MAX_CALLBACK_DEPTH
from srpc.client import AsyncClient, SyncClient, close, with_timeout
from srpc.client_streams import AsyncResultStream, ResultStream
from srpc.context import CallContext, current_call
from srpc.descriptor import ServiceDescriptor
from srpc.dispatch import inline
from srpc.errors import (
    AddressInUse,
    AuthenticationFailed,
    CallbackExpired,
    CallbackTooDeep,
    CallTimeout,
    ConnectError,
    ConnectionLost,
    IncompatibleStub,
    InvalidAddress,
    InvalidArguments,
    InvalidResult,
    ProtocolError,
    RemoteError,
    SrpcError,
    TooManyConnections,
)
from srpc.server import Server

__all__ = [
    "MAX_CALLBACK_DEPTH",
    "AddressInUse",
    "AsyncClient",
    "AsyncResultStream",
    "AuthenticationFailed",
    "CallContext",
    "CallTimeout",
    "CallbackExpired",
    "CallbackTooDeep",
    "ConnectError",
    "ConnectionLost",
    "IncompatibleStub",
    "InvalidAddress",
    "InvalidArguments",
    "InvalidResult",
    "ProtocolError",
    "RemoteError",
    "ResultStream",
    "Server",
    "ServiceDescriptor",
    "SrpcError",
    "SyncClient",
    "TooManyConnections",
    "__version__",
    "close",
    "current_call",
    "inline",
    "with_timeout",
]
