"""The srpc benchmark: srpc against a plain-socket floor and peer RPC frameworks.

Run it with ``make bench`` or ``python -m bench.run`` from the repository root;
see ``bench/README.md``.
"""
