"""Pure bookkeeping for the server's connection guards: no I/O, no clock of their own.

Each helper takes the current time as an argument (``time.monotonic()`` in a
transport, any number in a test), so a transport decides when to ask and a
test can replay any schedule. How a transport uses them:

- :class:`PeerSlots` caps connections per peer address. On accept, call
  ``acquire(host)``; if it returns False, refuse the connection (before TLS
  and before the Hello) and close it; on close, ``release(host)`` exactly
  once for every successful acquire. Pre-handshake and established
  connections are best counted in two separate ``PeerSlots`` (and two
  totals), moving a connection from one to the other when its Hello is
  accepted, so a handshake flood cannot take the slots of clients that are
  already in.
- :class:`FrameProgress` bounds how long a begun frame may take. When the
  first byte of a frame arrives, ``begin(now)``; on every read that adds to
  it, ``advance(nbytes)``; when it completes, ``end()``. Arm one timer for
  ``deadline()`` and, when it fires, close the connection if
  ``expired(now)`` (else re-arm for the new ``deadline()``): a peer that
  trickles one byte every few seconds loses its slot after ``grace``
  seconds, while a large frame arriving at ``min_rate`` or faster never
  does.
- :class:`PeerBuckets` rate-limits failed handshakes per peer: on each
  refusal (wrong token, bad Hello), ``allow(host, now)``; once it returns
  False, close such connections from that peer at once, without answering
  or logging each one.
- :class:`RefusalTally` turns refusals into one log line per interval:
  ``add(reason, host)`` for each, and log ``summary(now)`` whenever it is
  not None (check it on each refusal and on a periodic timer).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "DEFAULT_FAILED_HANDSHAKE_BURST",
    "DEFAULT_FAILED_HANDSHAKE_RATE",
    "DEFAULT_FRAME_GRACE",
    "DEFAULT_MAX_CONNECTIONS_PER_PEER",
    "DEFAULT_MIN_FRAME_RATE",
    "FrameProgress",
    "PeerBuckets",
    "PeerSlots",
    "RefusalTally",
    "TokenBucket",
]

DEFAULT_MAX_CONNECTIONS_PER_PEER: Final = 64
"""Connections one peer address may hold: a sixteenth of the default ``max_connections``."""

DEFAULT_FRAME_GRACE: Final = 10.0
"""Seconds a begun frame may take before it must show ``min_rate``."""

DEFAULT_MIN_FRAME_RATE: Final = 16 * 1024
"""Bytes per second a begun frame must average after its grace (64 MiB: ~70 min)."""

DEFAULT_FAILED_HANDSHAKE_RATE: Final = 2.0
"""Failed handshakes per second and peer allowed in the long run."""

DEFAULT_FAILED_HANDSHAKE_BURST: Final = 10.0
"""Failed handshakes a peer may have at once before the rate applies."""


class PeerSlots:
    """Connections held per peer address, capped at ``limit`` each."""

    def __init__(self, limit: int = DEFAULT_MAX_CONNECTIONS_PER_PEER) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._held: dict[str, int] = {}

    def acquire(self, peer: str) -> bool:
        """Take a slot for ``peer``; False (and nothing taken) when it holds ``limit``."""
        held = self._held.get(peer, 0)
        if held >= self.limit:
            return False
        self._held[peer] = held + 1
        return True

    def release(self, peer: str) -> None:
        """Give back one slot of ``peer`` (one per successful :meth:`acquire`)."""
        held = self._held.get(peer, 0)
        if held <= 0:
            raise ValueError(f"{peer!r} holds no slot")
        if held == 1:
            del self._held[peer]  # a peer that left costs no memory
        else:
            self._held[peer] = held - 1

    def held(self, peer: str) -> int:
        return self._held.get(peer, 0)

    def __len__(self) -> int:
        """Slots held over all peers."""
        return sum(self._held.values())


@dataclass
class FrameProgress:
    """A deadline for a begun frame that moves with the bytes that arrive.

    A frame begun at ``start`` must be complete by ``start + grace +
    received / min_rate``: every byte buys ``1 / min_rate`` seconds, so a
    frame arriving at ``min_rate`` or faster never expires and a trickle
    expires about ``grace`` seconds after it began.
    """

    grace: float = DEFAULT_FRAME_GRACE
    min_rate: float = DEFAULT_MIN_FRAME_RATE
    start: float | None = None
    received: int = 0

    def __post_init__(self) -> None:
        if not self.grace > 0 or not self.min_rate > 0:
            raise ValueError("grace and min_rate must be positive")

    def begin(self, now: float, nbytes: int = 0) -> None:
        """A frame's first bytes arrived (``nbytes`` of them) at ``now``."""
        self.start = now
        self.received = nbytes

    def advance(self, nbytes: int) -> None:
        """``nbytes`` more bytes of the begun frame arrived."""
        self.received += nbytes

    def end(self) -> None:
        """The frame is complete; no deadline until the next one begins."""
        self.start = None
        self.received = 0

    @property
    def active(self) -> bool:
        return self.start is not None

    def deadline(self) -> float | None:
        """When the frame expires if no more bytes arrive (None: no frame begun)."""
        if self.start is None:
            return None
        return self.start + self.grace + self.received / self.min_rate

    def expired(self, now: float) -> bool:
        deadline = self.deadline()
        return deadline is not None and now >= deadline


@dataclass
class TokenBucket:
    """``rate`` events per second in the long run, ``burst`` at once."""

    rate: float
    burst: float
    tokens: float = field(default=-1.0)
    updated: float | None = None

    def __post_init__(self) -> None:
        if not self.rate > 0 or not self.burst >= 1:
            raise ValueError("rate must be positive and burst at least 1")
        if self.tokens < 0:
            self.tokens = self.burst

    def take(self, now: float) -> bool:
        """Spend one token if there is one; False when the bucket is empty."""
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def available(self, now: float) -> bool:
        """Whether :meth:`take` would succeed now (nothing spent)."""
        self._refill(now)
        return self.tokens >= 1.0

    def full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.burst

    def _refill(self, now: float) -> None:
        if self.updated is not None and now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        if self.updated is None or now > self.updated:
            self.updated = now


class PeerBuckets:
    """One :class:`TokenBucket` per peer, for at most ``max_peers`` peers at a time.

    Memory is bounded: past ``max_peers``, the peer least recently seen is
    forgotten (its bucket was the likeliest to be full again anyway).
    """

    def __init__(
        self,
        rate: float = DEFAULT_FAILED_HANDSHAKE_RATE,
        burst: float = DEFAULT_FAILED_HANDSHAKE_BURST,
        max_peers: int = 4096,
    ) -> None:
        TokenBucket(rate, burst)  # validates
        self.rate = rate
        self.burst = burst
        self.max_peers = max_peers
        self._buckets: collections.OrderedDict[str, TokenBucket] = collections.OrderedDict()

    def allow(self, peer: str, now: float) -> bool:
        """Count one event of ``peer`` at ``now``; False once its bucket is empty."""
        bucket = self._buckets.get(peer)
        if bucket is None:
            bucket = self._buckets[peer] = TokenBucket(self.rate, self.burst)
            while len(self._buckets) > self.max_peers:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(peer)
        return bucket.take(now)

    def exhausted(self, peer: str, now: float) -> bool:
        """Whether ``peer``'s bucket is empty now (nothing counted): refuse it at once."""
        bucket = self._buckets.get(peer)
        return bucket is not None and not bucket.available(now)

    def __len__(self) -> int:
        return len(self._buckets)


class RefusalTally:
    """Refusals counted by reason, summed up in one line at most every ``interval`` seconds."""

    def __init__(self, interval: float = 10.0, *, top: int = 3) -> None:
        self.interval = interval
        self.top = top
        self._counts: collections.Counter[str] = collections.Counter()
        self._peers: collections.Counter[str] = collections.Counter()
        self._since: float | None = None

    def add(self, reason: str, peer: str, now: float) -> None:
        if self._since is None:
            self._since = now
        self._counts[reason] += 1
        self._peers[peer] += 1
        if len(self._peers) > 4 * 4096:  # bounded: keep only the busiest peers
            self._peers = collections.Counter(dict(self._peers.most_common(4096)))

    def summary(self, now: float) -> str | None:
        """The line to log if ``interval`` has passed since the first uncounted refusal."""
        if self._since is None or now - self._since < self.interval:
            return None
        total = sum(self._counts.values())
        reasons = ", ".join(f"{count} {reason}" for reason, count in self._counts.most_common())
        peers = ", ".join(f"{peer} ({count})" for peer, count in self._peers.most_common(self.top))
        line = (f"{total} handshake{'s' if total != 1 else ''} refused in the last "
                f"{now - self._since:.0f} s: {reasons}; most from {peers}")
        self._counts.clear()
        self._peers.clear()
        self._since = None
        return line
