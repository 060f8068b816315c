"""The pure connection guards (srpc/guards.py), driven with explicit times."""

from __future__ import annotations

import pytest

from srpc.guards import FrameProgress, PeerBuckets, PeerSlots, RefusalTally, TokenBucket


def test_peer_slots_cap_each_peer_apart() -> None:
    slots = PeerSlots(limit=2)
    assert slots.acquire("127.0.0.2") and slots.acquire("127.0.0.2")
    assert not slots.acquire("127.0.0.2")  # the third from the same peer is refused
    assert slots.acquire("127.0.0.1")  # another peer is not affected
    assert slots.held("127.0.0.2") == 2 and len(slots) == 3
    slots.release("127.0.0.2")
    assert slots.acquire("127.0.0.2")
    for _ in range(2):
        slots.release("127.0.0.2")
    assert slots.held("127.0.0.2") == 0
    with pytest.raises(ValueError):
        slots.release("127.0.0.2")
    with pytest.raises(ValueError):
        PeerSlots(limit=0)


def test_a_trickled_frame_expires_after_its_grace() -> None:
    frame = FrameProgress(grace=10.0, min_rate=1000.0)
    assert frame.deadline() is None and not frame.expired(1e9)
    frame.begin(100.0, 4)
    now = 100.0
    while not frame.expired(now):  # one byte every 5 s
        now += 5.0
        frame.advance(1)
    assert 110.0 <= now <= 115.0


def test_a_frame_at_the_minimum_rate_never_expires() -> None:
    frame = FrameProgress(grace=1.0, min_rate=1000.0)
    frame.begin(0.0)
    for second in range(1, 600):
        frame.advance(1000)
        assert not frame.expired(float(second))
    frame.end()
    assert frame.deadline() is None and not frame.active
    with pytest.raises(ValueError):
        FrameProgress(grace=0.0)


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert not bucket.take(0.2)
    assert bucket.take(0.5)  # one token per 0.5 s
    assert not bucket.take(0.5)
    assert bucket.full(100.0)
    assert bucket.take(99.0) is True  # a clock going backwards spends, never refills
    with pytest.raises(ValueError):
        TokenBucket(rate=0.0, burst=1.0)


def test_peer_buckets_limit_each_peer_and_stay_bounded() -> None:
    buckets = PeerBuckets(rate=1.0, burst=2.0, max_peers=3)
    assert buckets.allow("a", 0.0) and buckets.allow("a", 0.0)
    assert not buckets.allow("a", 0.0)
    assert buckets.allow("b", 0.0)  # another peer has its own bucket
    for peer in ("c", "d", "e"):
        buckets.allow(peer, 0.0)
    assert len(buckets) == 3  # the least recently seen were forgotten
    assert buckets.allow("a", 0.0)  # forgotten: a fresh bucket


def test_refusals_become_one_line_per_interval() -> None:
    tally = RefusalTally(interval=10.0)
    assert tally.summary(0.0) is None
    for i in range(13_000):
        tally.add("wrong token", f"127.0.0.{2 + i % 8}", 1.0 + i / 10_000)
    tally.add("bad Hello", "127.0.0.9", 2.0)
    assert tally.summary(5.0) is None
    line = tally.summary(11.0)
    assert line is not None
    assert line.startswith("13001 handshakes refused in the last 10 s: 13000 wrong token, 1 bad")
    assert "127.0.0.2 (1625)" in line
    assert tally.summary(30.0) is None  # counted once
