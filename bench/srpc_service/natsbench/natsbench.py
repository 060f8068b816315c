"""The implementation the generated natsbench server stub serves."""

import os

import srpc
from natsbench.natsbench_interface import NatsbenchInterface


class Natsbench(NatsbenchInterface):
    @srpc.inline
    def add(self, a: int, b: int) -> int:
        return a + b

    # on the event loop too: the work holds the GIL either way, and a thread hop would add
    # latency without adding parallelism; parallelism is what more instances are for
    @srpc.inline
    def work(self, rounds: int) -> int:
        total = 0
        for i in range(rounds):
            total += i * i % 7
        return os.getpid() if total >= 0 else -1
