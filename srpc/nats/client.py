"""A client's side of srpc over NATS: one NATS connection (a *link*) per client connection.

The client stubs keep their own connection classes, session and stream
objects; a link only carries their frames. It looks like an asyncio
transport to the async stub and like a byte stream (:mod:`srpc.transport`)
to the sync stub, whose link runs on an event loop in a background daemon
thread (one per process). What the link adds is what TCP would have given:

- where each message goes: a Request to the service's queue subject, a
  call's later messages (Cancel, Credit, stream items, callback answers) to
  the instance that holds the call, learnt from the NATS reply field of
  the first message that instance sent for it;
- chunks for payloads over the NATS server's ``max_payload``;
- failures NATS does not report: no responders (``ConnectError``, or
  ``IncompatibleStub`` when only other fingerprints are served) and dead or
  hung instances (their calls end with ``ConnectionLost`` within about a
  second; see docs/NATS.md, "Failures"). A call is never sent twice.

Errors the link finds for one call reach the caller as the ErrorReply the
server would have sent, so the stubs need no NATS-specific code.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec
import nats
import nats.errors

from srpc.errors import (
    AuthenticationFailed,
    ConnectError,
    ConnectionLost,
    IncompatibleStub,
    InvalidAddress,
    ProtocolError,
    SrpcError,
)
from srpc.framing import DEFAULT_MAX_FRAME, FrameDecoder
from srpc.nats.discovery import fingerprints_served
from srpc.nats.outbox import Outbox
from srpc.nats.wire import (
    CHUNK,
    HEADROOM,
    TOKEN_HEADER,
    WAIT,
    Reassembly,
    Subjects,
    Target,
    chunks,
    error_payload,
    message_head,
    parse_target,
)
from srpc.protocol import (
    DECODE_ERRORS,
    PROTOCOL_VERSION,
    TAG_REQUEST,
    Cancel,
    Hello,
    Message,
    Refuse,
    Welcome,
    encode_payload,
)
from srpc.transport import QueuedStream

if TYPE_CHECKING:
    from srpc.client import _AsyncConnection, _Settings, _SyncConnection

__all__ = ["DynamicTarget", "NatsTarget"]

log = logging.getLogger("srpc.client")
_monotonic = time.monotonic

_TAG_REPLY, _TAG_ERROR_REPLY, _TAG_STREAM_END = 5, 6, 8
_TAG_CANCEL, _TAG_PING, _TAG_DESCRIBE, _TAG_DESCRIPTION = 9, 13, 17, 18
_FINAL = (_TAG_REPLY, _TAG_ERROR_REPLY, _TAG_STREAM_END, _TAG_DESCRIPTION)
_TAG_PONG = 14
_CLIENT_ONLY = frozenset((1, 2, 3, 4, 9, 11, 12, 13, 15, 17))
"""Tags no instance sends on a call subject (Hello, Welcome, Refuse, Request, Cancel, the
answers to callbacks, Ping, GoAway, Describe): dropped, never given to the session."""

TICK = 0.25
"""Seconds between two looks at the calls in flight (only while there are some)."""
PROBE_AFTER = 0.25
"""A call in flight this long has its instance probed (then every ``PROBE_EVERY``)."""
PROBE_EVERY = 0.5
PROBE_TIMEOUT = 1.0
"""An instance that does not answer a probe within this is taken for dead (hung)."""
ASK_AFTER = 0.25
"""A call whose instance is still unknown after this is asked about on the ``who`` subject."""
LOST_AFTER = 0.5
"""Seconds after the first ``who`` with no instance owning up: the call is lost."""
WAIT_AT_MOST = 2.0
"""Seconds an instance's "wait" (the call is among its unread requests) extends that, in all."""

_ids_encoder = msgspec.msgpack.Encoder()
_decoder: msgspec.msgpack.Decoder[Message] = msgspec.msgpack.Decoder(Message)


class _Route:
    """Where one call's later messages go, and what waits for that to be known."""

    __slots__ = ("asked", "cancelled", "first_asked", "held", "instance", "started")

    def __init__(self, started: float) -> None:
        self.started = started
        self.instance: str | None = None
        self.held: list[bytes] = []
        self.asked: float | None = None
        self.first_asked: float | None = None
        self.cancelled = False


def _connect_failure(address: str, exc: BaseException) -> SrpcError:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, nats.errors.Error) and "authorization" in text.lower():
        return AuthenticationFailed(f"the NATS server at {address} refused the client: {text}")
    return ConnectError(f"cannot connect to the NATS server at {address}: {text}")


async def open_nats(target: Target, timeout: float, **callbacks: Any) -> Any:
    """A connected nats-py client for ``target`` (srpc's errors on failure)."""
    options: dict[str, Any] = {
        "connect_timeout": max(timeout, 0.1),
        # nats-py's first connect also retries each server up to this: twice, then give up.
        "max_reconnect_attempts": 1,
        "reconnect_time_wait": 0.05,
        "allow_reconnect": False,
        **callbacks,
        **target.options,
    }
    failures: list[BaseException] = []

    async def error_cb(exc: Exception) -> None:
        failures.append(exc)
        log.debug("NATS error on %s: %s", target.address, exc)

    options.setdefault("error_cb", error_cb)
    try:
        return await asyncio.wait_for(
            nats.connect(servers=[s.strip() for s in target.url.split(",")], **options),
            timeout + 1.0,
        )
    except asyncio.TimeoutError:
        raise ConnectError(f"cannot connect to the NATS server at {target.address}: timed out") \
            from None
    except Exception as exc:
        cause: BaseException = failures[-1] if failures else exc
        raise _connect_failure(target.address, cause) from None


class _Link:
    """One client connection's NATS connection, on its event loop."""

    def __init__(
        self,
        target: Target,
        name: str,
        fingerprint: str,
        token: str | None,
        label: str,
        max_frame: int,
    ) -> None:
        self.target = target
        self.name = name
        self.fingerprint = fingerprint
        self.token = token
        self.label = label
        self.subjects = Subjects(name, fingerprint)
        self.headers = None if token is None else {TOKEN_HEADER: token}
        self.reassembly = Reassembly(max_frame, 2 * max_frame)
        self.nc: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.inbox = ""
        self.prefix = 0
        self.routes: dict[int, _Route] = {}
        self.out: Outbox | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.probing: set[str] = set()
        self.alive: dict[str, float] = {}
        self.chunk_limit = 1024 * 1024 - HEADROOM
        self.closed = False
        self.deliver: Callable[[bytes], None] = lambda payload: None
        """Hands one server message (a payload) to the client's connection."""
        self.on_lost: Callable[[SrpcError], None] = lambda failure: None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.dropped_at = -100.0
        self.choose: str | None = None
        """A client without a stub: the fingerprint is found by discovery (this prefix)."""

    # -- opening -------------------------------------------------------------------

    async def open(self, timeout: float) -> Welcome | Refuse:
        """Connect, subscribe the inbox and shake hands with one instance."""
        self.loop = asyncio.get_running_loop()
        self.nc = nc = await open_nats(
            self.target, timeout, closed_cb=self._closed, disconnected_cb=self._closed
        )
        try:
            self.chunk_limit = max(int(nc.max_payload) - HEADROOM, 4096)
            self.inbox = nc.new_inbox()
            self.prefix = len(self.inbox) + 1
            await nc.subscribe(
                f"{self.inbox}.>",
                cb=self._on_message,
                pending_bytes_limit=max(256 * 1024 * 1024, 4 * self.reassembly.max_frame),
            )
            self.out = Outbox(nc, self.loop, self._publish_failed, self.headers)
            if self.choose is not None:
                self.fingerprint = await self._choose_fingerprint(self.choose)
                self.subjects = Subjects(self.name, self.fingerprint)
            hello = encode_payload(
                Hello(PROTOCOL_VERSION, self.name, self.fingerprint, self.token)
            )
            try:
                msg = await nc.request(self.subjects.service, hello, timeout=timeout)
            except nats.errors.NoRespondersError:
                raise await self.no_responders() from None
            except nats.errors.TimeoutError:
                raise ConnectError(
                    f"cannot connect to service {self.name!r} at {self.target.address}: "
                    f"no instance answered within {timeout} s"
                ) from None
            try:
                answer = _decoder.decode(msg.data)
            except DECODE_ERRORS as exc:
                raise ProtocolError(f"{self.label}: an invalid handshake answer: {exc}") from None
            if type(answer) is not Welcome and type(answer) is not Refuse:
                raise ProtocolError(
                    f"{self.label} answered the handshake with {type(answer).__name__}"
                )
            return answer
        except BaseException:
            await self.aclose()
            raise

    async def _choose_fingerprint(self, prefix: str) -> str:
        served = await fingerprints_served(self.nc, self.name)
        matching = [f for f in served if f.startswith(prefix)]
        if not matching:
            other = f" (they serve {', '.join(served)})" if served else ""
            raise ConnectError(
                f"cannot reach service {self.name!r} at {self.target.address}: no instance "
                f"serves it{' with fingerprint ' + prefix if prefix else ''}{other}"
            )
        if len(matching) > 1:
            raise ConnectError(
                f"instances of service {self.name!r} at {self.target.address} serve "
                f"{len(matching)} interface versions ({', '.join(matching)}): choose one with "
                f"{self.target.address}/{self.name}/FINGERPRINT (its first characters)"
            )
        return matching[0]

    async def no_responders(self) -> SrpcError:
        """The error for "nobody serves this subject": which other fingerprints are served?"""
        nc = self.nc
        served = [] if nc is None else await fingerprints_served(nc, self.name)
        others = [f for f in served if f != self.fingerprint]
        if others:
            return IncompatibleStub(
                f"no instance of service {self.name!r} at {self.target.address} serves the "
                f"client stub's fingerprint {self.fingerprint}; the running instances serve "
                f"fingerprint {', '.join(others)}. Regenerate the client stub with "
                "srpc-stubgen from the server's interface file (or wait for instances of "
                "this version to start)."
            )
        return ConnectError(
            f"cannot reach service {self.name!r} at {self.target.address}: no instance is "
            f"serving it (no responders on {self.subjects.service})"
        )

    # -- sending (on the loop) -------------------------------------------------------

    def send_all(self, payloads: list[bytes]) -> None:
        for payload in payloads:
            self.send(payload)

    def send(self, payload: bytes) -> None:
        """Route one message the client's connection wrote."""
        if self.closed:
            return
        tag, id = message_head(payload)
        if tag in (TAG_REQUEST, _TAG_DESCRIBE):
            route = self.routes[id] = _Route(_monotonic())
            reply = f"{self.inbox}.{id}"
            if len(payload) > self.chunk_limit:
                parts = chunks(payload, self.chunk_limit)
                self.post(self.subjects.service, parts[0], reply)
                route.held.extend(parts[1:])  # to the instance, once it acknowledges
            else:
                self.post(self.subjects.service, payload, reply)
            if self.timer is None:
                self.timer = self._loop().call_later(TICK, self._tick)
            return
        if tag == _TAG_PING:  # any instance answers (liveness of calls is the probes' job)
            self.post(self.subjects.service, payload, f"{self.inbox}.g")
            return
        known = self.routes.get(id)
        if known is None:  # the call is over: nothing to tell anyone
            return
        if known.instance is None:
            known.held.extend(self._parts(payload))
        else:
            self.post_call(known.instance, payload, id)
        if tag == _TAG_CANCEL:
            known.cancelled = True
            if known.instance is not None:
                del self.routes[id]

    def _parts(self, payload: bytes) -> list[bytes]:
        if len(payload) > self.chunk_limit:
            return chunks(payload, self.chunk_limit)
        return [payload]

    def post_call(self, instance: str, payload: bytes, id: int) -> None:
        reply = f"{self.inbox}.{id}"
        for part in self._parts(payload):
            self.post(instance, part, reply)

    def post(self, subject: str, payload: bytes, reply: str) -> None:
        out = self.out
        if out is not None:
            out.post(subject, payload, reply)

    def _publish_failed(self, exc: Exception) -> None:
        self.fail(ConnectionLost(f"{self.label}: publishing to NATS failed: {exc}"))

    def _loop(self) -> asyncio.AbstractEventLoop:
        assert self.loop is not None
        return self.loop

    # -- receiving ---------------------------------------------------------------------

    async def _on_message(self, msg: Any) -> None:
        try:
            self._receive(msg)
        except Exception:  # a bad message must not stop the subscription
            log.exception("%s: a NATS message could not be handled", self.label)

    def _receive(self, msg: Any) -> None:
        token = msg.subject[self.prefix :]
        data: bytes = msg.data
        if token == "p":  # a server asks whether this client is still there
            if msg.reply:
                self.post(msg.reply, b"", "")
            return
        if token == "g":  # a Pong
            if message_head(data)[0] == _TAG_PONG:
                self.deliver(data)
            return
        try:
            id = int(token)
        except ValueError:
            return
        headers = msg.headers
        if headers and headers.get("Status") == "503":  # no responders for request ``id``
            if self.routes.pop(id, None) is not None:
                self._spawn(self._no_responders_for(id))
            return
        if not data:  # an instance acknowledges that it holds call ``id``
            route = self.routes.get(id)
            if route is not None and msg.reply:
                self._located(id, route, msg.reply)
            return
        if data == WAIT:  # an instance holds it, unread yet: patience starts again (bounded)
            route = self.routes.get(id)
            if route is not None and route.asked is not None:
                now = _monotonic()
                if route.first_asked is None:
                    route.first_asked = route.asked
                if now - route.first_asked < WAIT_AT_MOST:
                    route.asked = now
            return
        if data[0] == CHUNK:
            try:
                whole = self.reassembly.add(msg.subject, data)
            except ValueError as exc:
                self._drop(f"a chunked message: {exc}")
                return
            if whole is None:
                return
            data = whole
        tag, mid = message_head(data)
        if tag in _CLIENT_ONLY or tag < 0:
            self._drop(f"a {tag} message on {msg.subject}")
            return
        try:
            _decoder.decode(data)  # garbage from anyone who knows the inbox: dropped here
        except DECODE_ERRORS as exc:
            self._drop(f"not an srpc message on {msg.subject}: {exc}")
            return
        route = self.routes.get(mid)
        if route is not None:
            if route.instance is None and msg.reply:
                self._located(mid, route, msg.reply)
            if tag in _FINAL:
                del self.routes[mid]
        self.deliver(data)

    def _drop(self, what: str) -> None:
        now = _monotonic()
        if now - self.dropped_at > 10.0:
            self.dropped_at = now
            log.warning("%s: dropped %s (and any more in the next 10 s)", self.label, what)

    def _located(self, id: int, route: _Route, instance: str) -> None:
        if not instance.startswith(self.subjects.service + ".") or instance == self.subjects.who:
            return  # not an instance of this service's version: never trusted with the call
        route.instance = instance
        held, route.held = route.held, []
        reply = f"{self.inbox}.{id}"
        for part in held:
            self.post(instance, part, reply)
        if route.cancelled:
            self.routes.pop(id, None)

    async def _no_responders_for(self, id: int) -> None:
        self.fail_call(id, await self.no_responders())

    def fail_call(self, id: int, error: SrpcError) -> None:
        """End call ``id`` with ``error``, as if its server had answered so."""
        route = self.routes.pop(id, None)
        if route is not None and route.cancelled:
            return
        self.deliver(error_payload(id, error))

    # -- liveness --------------------------------------------------------------------

    def _tick(self) -> None:
        self.timer = None
        if self.closed or not self.routes:
            return
        now = _monotonic()
        ask: list[int] = []
        for id, route in list(self.routes.items()):
            instance = route.instance
            if instance is not None:
                if (
                    now - route.started > PROBE_AFTER
                    and instance not in self.probing
                    and now - self.alive.get(instance, 0.0) > PROBE_EVERY
                ):
                    self.probing.add(instance)
                    self._spawn(self._probe(instance))
                continue
            if now - route.started < ASK_AFTER:
                continue
            if route.asked is None:
                route.asked = now
            elif now - route.asked > LOST_AFTER:
                self.fail_call(
                    id,
                    ConnectionLost(
                        f"{self.label}: no instance of service {self.name!r} holds call {id} "
                        f"{now - route.started:.1f} s after it was sent: the instance it "
                        "reached has stopped; the call's outcome is unknown"
                    ),
                )
                continue
            ask.append(id)
        if ask:
            self.post(self.subjects.who, _ids_encoder.encode(ask), self.inbox)
        self.timer = self._loop().call_later(TICK, self._tick)

    async def _probe(self, instance: str) -> None:
        try:
            await self.nc.request(instance, b"", timeout=PROBE_TIMEOUT, headers=self.headers)
            self.alive[instance] = _monotonic()
        except nats.errors.NoRespondersError:
            self._instance_lost(instance, "has stopped (NATS has no subscriber on its subject)")
        except nats.errors.TimeoutError:
            self._instance_lost(
                instance, f"did not answer a liveness probe within {PROBE_TIMEOUT:g} s"
            )
        except Exception:  # the connection is closing: its own failure says why
            log.debug("%s: probing %s failed", self.label, instance, exc_info=True)
        finally:
            self.probing.discard(instance)

    def _instance_lost(self, instance: str, what: str) -> None:
        self.alive.pop(instance, None)
        name = instance.rsplit(".", 1)[-1]
        for id, route in list(self.routes.items()):
            if route.instance != instance:
                continue
            # Best effort: a hung instance that wakes up stops the call.
            self.post_call(instance, encode_payload(Cancel(id)), id)
            self.fail_call(
                id,
                ConnectionLost(
                    f"{self.label}: instance {name} of service {self.name!r}, which held call "
                    f"{id}, {what}; the call's outcome is unknown"
                ),
            )

    def _spawn(self, coro: Any) -> None:
        task = self._loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # -- closing -----------------------------------------------------------------------

    async def _closed(self) -> None:
        if not self.closed:
            self.fail(ConnectionLost(f"{self.label}: the connection to NATS was lost"))

    def fail(self, failure: SrpcError) -> None:
        """The NATS connection is gone: the client's connection fails as a lost socket would."""
        if self.closed:
            return
        self.close_soon()
        self.on_lost(failure)

    def close_soon(self) -> None:
        """Close on the loop (from any thread)."""
        loop = self.loop
        if loop is None or loop.is_closed():
            self.closed = True
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._spawn_close()
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._spawn_close)

    def _spawn_close(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            self._loop().create_task(self.aclose())
        else:
            self._mark_closed()

    def _mark_closed(self) -> None:
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.out is not None:
            self.out.close()
        for task in list(self.tasks):
            task.cancel()

    async def aclose(self) -> None:
        if self.closed and (self.nc is None or self.nc.is_closed):
            return
        nc = self.nc
        if nc is not None and not nc.is_closed and self.out is not None:
            with contextlib.suppress(Exception):
                await self.out.drain(0.5)  # what is queued (a Cancel) leaves first
        self._mark_closed()
        if nc is not None and not nc.is_closed:
            with contextlib.suppress(Exception):
                await nc.close()


# -- the async stub's side: an asyncio transport ---------------------------------------------


class _LinkTransport(asyncio.Transport):
    """The async stub's connection sees its NATS link as this transport."""

    def __init__(self, link: _Link, protocol: asyncio.BufferedProtocol) -> None:
        super().__init__()
        self.link = link
        self.protocol = protocol
        self.frames = FrameDecoder(DEFAULT_MAX_FRAME * 16)
        self.closing = False
        link.deliver = self._deliver
        link.on_lost = self._lost

    def _deliver(self, payload: bytes) -> None:
        if self.closing:
            return
        protocol = self.protocol
        size = len(payload)
        buffer = memoryview(protocol.get_buffer(size + 4))
        if len(buffer) >= size + 4:  # the usual case: one message, one read
            buffer[:4] = size.to_bytes(4, "big")
            buffer[4 : size + 4] = payload
            protocol.buffer_updated(size + 4)
            return
        _feed(protocol, size.to_bytes(4, "big"), buffer)
        _feed(protocol, payload, None)

    def _lost(self, failure: SrpcError) -> None:
        if not self.closing:
            self.closing = True
            self.protocol.connection_lost(None)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.closing:
            return
        self.link.send_all(_payloads(self.frames, data))

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(list_of_data))

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            self.link.close_soon()
            self.link.loop.call_soon(self.protocol.connection_lost, None)  # type: ignore[union-attr]

    def abort(self) -> None:
        self.close()

    def is_closing(self) -> bool:
        return self.closing

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def is_reading(self) -> bool:
        return True

    def can_write_eof(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.link.target.address if name == "peername" else default


def _feed(
    protocol: asyncio.BufferedProtocol, data: bytes, buffer: memoryview | None
) -> None:
    with memoryview(data) as view:
        offset, end = 0, len(view)
        while offset < end:
            if buffer is None:
                buffer = memoryview(protocol.get_buffer(end - offset))
            count = min(len(buffer), end - offset)
            buffer[:count] = view[offset : offset + count]
            offset += count
            buffer = None
            protocol.buffer_updated(count)


def _payloads(frames: FrameDecoder, data: bytes | bytearray | memoryview) -> list[bytes]:
    """The messages in what a connection wrote (usually exactly one whole frame)."""
    size = len(data)
    if not frames.buffered and size >= 4 and int.from_bytes(data[:4], "big") == size - 4:
        with memoryview(data) as view:
            return [bytes(view[4:])]
    return [bytes(frame) for frame in frames.feed(data)]


# -- the sync stub's side: a byte stream on a background loop --------------------------------

_background: list[Any] = [None, None, 0]  # loop, thread, pid
_background_lock = threading.Lock()


def background_loop() -> asyncio.AbstractEventLoop:
    """The event loop every sync client's NATS link runs on (a daemon thread, one per process)."""
    with _background_lock:
        loop, thread, pid = _background
        if loop is not None and pid == os.getpid() and thread.is_alive() and not loop.is_closed():
            return loop  # type: ignore[no-any-return]
        loop = _new_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        thread = threading.Thread(target=run, name="srpc-nats-client", daemon=True)
        thread.start()
        ready.wait()
        _background[:] = [loop, thread, os.getpid()]
        return loop


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return asyncio.new_event_loop()
    if os.environ.get("SRPC_LOOP", "") == "asyncio":
        return asyncio.new_event_loop()
    new: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return new


class _LinkStream(QueuedStream):
    """The sync stub's connection sees its NATS link as this byte stream."""

    what = "NATS connection"

    def __init__(self, link: _Link, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(link.label)
        self.link = link
        self.loop = loop
        self.frames = FrameDecoder(DEFAULT_MAX_FRAME * 16)
        link.deliver = self._deliver
        link.on_lost = self._lost

    # -- the loop's side ---------------------------------------------------------------

    def _deliver(self, payload: bytes) -> None:
        with self.cond:
            self.data += len(payload).to_bytes(4, "big")
            self.data += payload
            self.cond.notify_all()

    def _lost(self, failure: SrpcError) -> None:
        self.end()

    # -- ByteStream --------------------------------------------------------------------

    def sendall(self, data: bytes | bytearray) -> None:
        self._check_open()
        payloads = _payloads(self.frames, data)
        if payloads:
            try:
                self.loop.call_soon_threadsafe(self.link.send_all, payloads)
            except RuntimeError:  # the loop is gone (interpreter exit)
                raise BrokenPipeError(f"{self.label}: the NATS client loop is closed") from None

    def _closing(self) -> None:
        self.link.close_soon()


# -- what the client stubs call ----------------------------------------------------------------


class DynamicTarget:
    """``nats://host:port/SERVICE[/FINGERPRINT]`` for a client without a stub (``srpc
    describe``, ``call``, ``ping``): the fingerprint, or the one version served, is found
    through the service protocol."""

    def __init__(self, text: str, ssl: Any) -> None:
        parts = urllib.parse.urlsplit(text.strip())
        names = [name for name in parts.path.split("/") if name]
        if not names or len(names) > 2 or parts.query or parts.fragment:
            raise InvalidAddress(
                f"target {text!r}: a NATS target names the service: "
                "nats://host:port/SERVICE (or nats://host:port/SERVICE/FINGERPRINT)"
            )
        self.service = names[0]
        self.prefix = names[1] if len(names) > 1 else ""
        self.target = parse_target(
            urllib.parse.urlunsplit((parts.scheme, parts.netloc, "", "", "")), None, ssl
        )
        self.label = f"{self.target.address}/{self.service}"

    def connect(
        self, token: str | None, timeout: float, max_frame: int
    ) -> tuple[_LinkStream, Welcome | Refuse]:
        link = _Link(self.target, self.service, "", token, self.label, max_frame)
        link.choose = self.prefix
        loop = background_loop()
        stream = _LinkStream(link, loop)
        future = asyncio.run_coroutine_threadsafe(link.open(timeout), loop)
        try:
            return stream, future.result(timeout + 5.0)
        except concurrent.futures.TimeoutError:
            future.cancel()
            link.close_soon()
            raise ConnectError(f"cannot connect to {self.label}: timed out") from None


class NatsTarget:
    """A client's ``nats://`` target: opens links for the sync and the async connections."""

    def __init__(self, url: str, options: dict[str, Any] | None, ssl: Any) -> None:
        self.target = parse_target(url, options, ssl)
        self.label = self.target.address

    def _link(self, settings: _Settings) -> _Link:
        descriptor = settings.descriptor
        return _Link(
            self.target,
            descriptor.name,
            descriptor.fingerprint,
            settings.token,
            f"{self.label} ({descriptor.name})",
            settings.max_frame,
        )

    def connect_sync(self, settings: _Settings) -> _SyncConnection:
        from srpc.client import _SyncConnection

        link = self._link(settings)
        loop = background_loop()
        stream = _LinkStream(link, loop)
        timeout = settings.connect_timeout
        future = asyncio.run_coroutine_threadsafe(link.open(timeout), loop)
        try:
            answer = future.result(timeout + 5.0)
        except concurrent.futures.TimeoutError:
            future.cancel()
            link.close_soon()
            raise ConnectError(f"cannot connect to {self.label}: timed out") from None
        session = settings.session()
        try:
            session.handshake(answer)
        except BaseException:
            link.close_soon()
            raise
        return _SyncConnection(stream, session)

    async def connect_async(
        self, settings: _Settings, connection: _AsyncConnection
    ) -> _AsyncConnection:
        link = self._link(settings)
        transport = _LinkTransport(link, connection)
        answer = await link.open(settings.connect_timeout)
        try:
            connection.session.handshake(answer)
        except BaseException:
            await link.aclose()
            raise
        connection.answered = True
        connection.handshake.set_result(answer)
        connection.connection_made(transport)
        return connection
