"""Fuzz the server's receive path: bytes from a socket -> frames -> messages -> handshake
-> argument decoding -> dispatch -> reply. The target is ``receive_target.py``.

    python fuzz/fuzz_receive.py -max_total_time=60      # `make fuzz`
    python fuzz/fuzz_receive.py -runs=1000

With atheris installed (``make fuzz`` installs it) the harness is
coverage-guided by libFuzzer, with only srpc and the example instrumented;
any libFuzzer flag works. Without atheris the same entry point falls back to
a mutation loop over the same seeds (bit flips, interesting bytes, splices,
truncations, rewritten length fields) and says so; ``-runs=N`` and
``-max_total_time=S`` work in both modes. A crashing input is saved under
``fuzz/``.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
MAX_FRAME = 1 << 16


def _load_target() -> ModuleType:
    import receive_target

    return receive_target


# --- the fallback when atheris is not installed ------------------------------------------


def _mutate(rng: random.Random, data: bytes, corpus: list[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(7)
        pos = rng.randrange(len(buf) + 1)
        if choice == 0 and buf:  # flip a bit
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif choice == 1 and buf:  # interesting byte
            buf[rng.randrange(len(buf))] = rng.choice(
                [0x00, 0x7F, 0x80, 0x90, 0xC0, 0xC1, 0xDC, 0xDD, 0xDE, 0xDF, 0xFF])
        elif choice == 2:  # insert random bytes
            buf[pos:pos] = rng.randbytes(rng.randint(1, 8))
        elif choice == 3:  # truncate or delete a range
            del buf[pos : pos + rng.randint(1, 16)]
        elif choice == 4:  # splice another seed
            other = rng.choice(corpus)
            start = rng.randrange(len(other) + 1)
            buf[pos:pos] = other[start : start + rng.randint(1, 64)]
        elif choice == 5 and len(buf) >= 5:  # rewrite a 32-bit length field
            i = rng.randrange(len(buf) - 3)
            value = rng.choice([0, 1, 0xFFFF, MAX_FRAME, MAX_FRAME + 1, 0xFFFFFFFF,
                                rng.randrange(1 << 32)])
            buf[i : i + 4] = value.to_bytes(4, "big")
        else:  # duplicate a range
            buf[pos:pos] = buf[pos : pos + rng.randint(1, 32)]
    return bytes(buf)


def _flag(argv: list[str], name: str) -> float | None:
    for arg in argv:
        if arg.startswith(f"-{name}="):
            return float(arg.split("=", 1)[1])
    return None


def fallback(argv: list[str]) -> int:
    """The same target driven by a seeded mutation loop (no coverage guidance)."""
    target = _load_target()
    seconds = _flag(argv, "max_total_time")
    runs = _flag(argv, "runs")
    if seconds is None and runs is None:
        seconds = 60.0
    rng = random.Random(int(os.environ.get("SRPC_FUZZ_SEED", "0")) or None)
    corpus = target.seeds()
    started = time.monotonic()
    for seed in corpus:
        target.test_one_input(seed)
    while True:
        if runs is not None and runs <= target.RUNS:
            break
        if seconds is not None and time.monotonic() - started >= seconds:
            break
        if rng.random() < 0.05:
            data = bytes([rng.randrange(256)]) + rng.randbytes(rng.randrange(64))
        else:
            data = _mutate(rng, rng.choice(corpus), corpus)
        try:
            target.test_one_input(data)
        except BaseException:
            crash = HERE / f"crash-{int(time.time())}.bin"
            crash.write_bytes(data)
            print(f"fuzz_receive: crash on input saved to {crash}", file=sys.stderr)
            raise
        if len(corpus) < 512 and rng.random() < 0.01:
            corpus.append(data)
    elapsed = time.monotonic() - started
    print(f"fuzz_receive: random-mutation fallback (atheris is not installed, or "
          f"SRPC_FUZZ_FALLBACK is set): "
          f"{target.RUNS} inputs in {elapsed:.1f} s, no crash", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if os.environ.get("SRPC_FUZZ_FALLBACK"):
        return fallback(argv)
    try:
        import atheris  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        return fallback(argv)
    # Instrument srpc and the example only: instrumenting everything loaded
    # (asyncio, msgspec's Python parts, ...) costs half a minute at start-up.
    with atheris.instrument_imports(include=["srpc", "calc", "srpc_calc_server_stub",
                                             "receive_target"]):
        target = _load_target()
    corpus_dir = HERE / "corpus"
    corpus_dir.mkdir(exist_ok=True)
    for i, seed in enumerate(target.seeds()):
        path = corpus_dir / f"seed-{i:02d}"
        if not path.exists():
            path.write_bytes(seed)
    args = list(argv)
    if not any(not a.startswith("-") for a in args[1:]):
        args.append(str(corpus_dir))
    if not any(a.startswith("-artifact_prefix=") for a in args):
        args.append(f"-artifact_prefix={HERE}/")
    atheris.Setup(args, target.test_one_input)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
