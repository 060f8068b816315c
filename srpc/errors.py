"""The exceptions srpc raises, all under :class:`SrpcError`.

Each transport error also derives from the standard exception a plain
``except`` clause would name (``ConnectionError``, ``TimeoutError``,
``TypeError``), so code written against local calls keeps working.
"""

from __future__ import annotations

__all__ = [
    "AddressInUse",
    "AuthenticationFailed",
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
    "SrpcError",
    "TooManyConnections",
]


class SrpcError(Exception):
    """Base of every error srpc itself raises."""


class ConnectError(SrpcError, ConnectionError):
    """The client could not open a connection to the server's address."""


class ConnectionLost(SrpcError, ConnectionError):
    """The connection dropped while a call was in flight; the call's outcome is unknown."""


class CallTimeout(SrpcError, TimeoutError):
    """The call's deadline passed before its reply arrived."""


class ProtocolError(SrpcError):
    """The peer sent bytes that are not valid srpc protocol."""


class IncompatibleStub(SrpcError):
    """Client and server were generated from different interfaces or protocol versions."""


class AuthenticationFailed(SrpcError):
    """The server refused the client's credentials in the handshake."""


class TooManyConnections(SrpcError, ConnectionError):
    """The server refused the connection because it is at its connection limit."""


class AddressInUse(SrpcError, OSError):
    """The server could not bind because another process holds the address."""


class InvalidAddress(SrpcError, ValueError):
    """A host, port, URL, ``SRPC_HOST`` or ``SRPC_PORT`` that cannot be an srpc address.

    Its message is one line that names the bad value and where it came from.
    """


class InvalidArguments(SrpcError, TypeError):
    """Arguments did not match the procedure's declared types; nothing was called."""


class RemoteError(SrpcError):
    """An exception raised by the server's implementation whose type the client cannot rebuild.

    ``remote_type`` is the qualified name of the remote exception class,
    ``remote_message`` its ``str()``, ``remote_traceback`` the formatted
    traceback on the server.
    """

    def __init__(self, remote_type: str, remote_message: str, remote_traceback: str = "") -> None:
        super().__init__(remote_type, remote_message, remote_traceback)
        self.remote_type = remote_type
        self.remote_message = remote_message
        self.remote_traceback = remote_traceback

    def __str__(self) -> str:
        text = f"{self.remote_type}: {self.remote_message}"
        if self.remote_traceback:
            text += "\n\nRemote traceback (most recent call last):\n" + self.remote_traceback
        return text


class InvalidResult(SrpcError, TypeError):
    """The implementation returned a value that does not match the declared return type."""


class CallbackExpired(SrpcError, RuntimeError):
    """A callback proxy was used after the call that passed the callback had ended (a
    callback is valid only while its call runs)."""


class CallbackTooDeep(SrpcError, RecursionError):
    """A call made from inside a callback would nest callbacks deeper than
    :data:`srpc.MAX_CALLBACK_DEPTH`."""
