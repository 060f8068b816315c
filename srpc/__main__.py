"""``python -m srpc``."""

from srpc.cli import main

main()
