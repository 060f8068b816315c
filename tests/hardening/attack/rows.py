"""Issue 11's table, row by row: the attack and, while it is missing, the defence it needs.

``needs`` names the limit today's server lacks and where it belongs; a row
with ``needs`` is expected to fail (``test_attack.py`` marks it
``xfail(strict=True)``, so the suite stays green and flips when it lands).
"""

from __future__ import annotations

from . import attacks
from .runner import Row

ROWS: list[Row] = [
    Row("hash-flood", "an Any map of hash-colliding tuple keys", attacks.hash_flood),
    Row("empty-arrays", "MiBs of empty arrays in an Any argument", attacks.empty_arrays),
    Row("kwargs-names", "add (int-only) with a kwargs map of millions of distinct names",
        attacks.kwargs_names),
    Row("unread-replies", "pipelined big_reply calls whose replies are never read",
        attacks.unread_replies),
    Row("pool-then-echoes", "the pool's threads blocked, then 32 MiB echoes queued",
        attacks.blocked_pool_then_echoes),
    Row("pool-blocked", "as many blocked sync calls as the pool has threads",
        attacks.pool_blocked),
    Row("trickle", "1,024 handshaken connections trickling one byte of a begun frame",
        attacks.trickle),
    Row("pre-handshake", "a reconnecting attacker holding > 1,024 pre-handshake slots",
        attacks.pre_handshake_slots),
    Row("tls-stalled", "stalled 5-byte TLS ClientHello headers", attacks.tls_stalled,
        tls=True),
    Row("unprintable", "an exception whose __str__ raises KeyboardInterrupt",
        attacks.unprintable_exceptions),
    Row("wrong-token", "wrong-token Hellos from 8 threads", attacks.wrong_tokens, token=True),
    Row("pipelined-adds", "one client pipelining 200k add calls", attacks.pipelined_adds,
        note="the full form (the table's 200k on one connection) is at the edge here: worst "
             "probe 0.64 s in one run, over 1 s in the next; the quick form uses 6 x 100k"),
    Row("huge-name", "an unknown procedure name of many MiB", attacks.huge_name),
    Row("callback-hoarder", "pipelined calls whose callback requests are never answered",
        attacks.callback_hoarder),
]
