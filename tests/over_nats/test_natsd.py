"""The test nats-server itself: it starts from the venv and speaks NATS."""

from __future__ import annotations

import asyncio

from nats.aio.msg import Msg

from .natsd import NatsServer


def test_nats_server_answers_request_reply(natsd: NatsServer) -> None:
    import nats

    async def main() -> bytes:
        nc = await nats.connect(natsd.url)
        try:

            async def echo(msg: Msg) -> None:
                await msg.respond(msg.data[::-1])

            await nc.subscribe("t.echo", cb=echo)
            reply = await nc.request("t.echo", b"abc", timeout=2)
            return reply.data
        finally:
            await nc.close()

    assert asyncio.run(main()) == b"cba"
