"""The ``srpc`` command line: wires the subcommands; each lives beside the code it drives."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from srpc._cli_common import CONTEXT_SETTINGS, VersionOption, fail, stderr
from srpc.compiler.command import stubgen
from srpc.dashboard.command import metrics

__all__ = ["SHORT_HELP", "app", "main", "metrics_main", "stubgen_main"]

app = typer.Typer(
    name="srpc",
    help=(
        "srpc: Python RPC whose interface language is Python.\n\n"
        "Example:\n\n"
        "  srpc stubgen calc/calc_interface.py\n\n"
        "  srpc metrics srpc_server_metrics.log\n\n"
        "  srpc call 127.0.0.1:5000 add 1 2\n\n"
        "  srpc services nats://127.0.0.1:4222"
    ),
    context_settings=CONTEXT_SETTINGS,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


@app.callback()
def _root(version: VersionOption = False) -> None:
    """srpc: Python RPC whose interface language is Python."""


# explicit one-line summaries: the listing would otherwise cut the docstrings' first lines short
SHORT_HELP = {
    "stubgen": "Generate typed client and server stubs from an interface file.",
    "metrics": "Show a server's metrics log: a live dashboard, or one snapshot.",
    "describe": "Ask a running server for its procedures, signatures and docstrings.",
    "call": "Call a procedure of a running server with JSON arguments, without a stub.",
    "ping": "Check that a server answers: connect, handshake, report the round trip.",
    "services": "List the srpc services on a NATS server, with each instance.",
}

app.command("stubgen", context_settings=CONTEXT_SETTINGS, short_help=SHORT_HELP["stubgen"])(stubgen)
app.command("metrics", context_settings=CONTEXT_SETTINGS, short_help=SHORT_HELP["metrics"])(metrics)


# -- describe, call, ping: thin shells over srpc.dynamic ----------------------------------

TargetArgument = Annotated[
    str,
    typer.Argument(
        help="The server: tcp://HOST:PORT or HOST:PORT.", metavar="TARGET", show_default=False
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        metavar="<token>",
        help="The server's shared secret (default: $SRPC_TOKEN).",
        show_default=False,
    ),
]
TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout",
        min=0.001,
        metavar="<seconds>",
        help="Seconds to connect, and again for the request, before giving up.",
    ),
]
TlsOption = Annotated[
    bool, typer.Option("--tls", help="Connect with TLS, verifying the server's certificate.")
]
CafileOption = Annotated[
    Path | None,
    typer.Option(
        "--cafile",
        metavar="<path>",
        help="Trust the certificate authorities in this PEM file (implies --tls).",
        show_default=False,
    ),
]


@contextmanager
def _dynamic_client(
    target: str, token: str | None, timeout: float | None, tls: bool, cafile: Path | None
) -> Iterator[Any]:
    """A connected :class:`srpc.dynamic.DynamicClient`; srpc errors end the command (exit 1)."""
    from srpc.dynamic import DynamicClient, client_ssl_context
    from srpc.errors import InvalidAddress, SrpcError

    try:
        context = client_ssl_context(tls, None if cafile is None else str(cafile))
        client = DynamicClient(
            target,
            token=token,
            timeout=timeout,
            connect_timeout=5.0 if timeout is None else timeout,
            ssl=context,
        )
    except InvalidAddress as exc:
        if target.strip().lower().startswith("nats://"):
            fail(f"error: {exc}")  # a valid target, not served yet
        raise typer.BadParameter(str(exc), param_hint="TARGET") from None
    except OSError as exc:  # a --cafile that does not load
        fail(f"error: cannot use --cafile {cafile}: {exc}")
    try:
        with client:
            yield client
    except SrpcError as exc:
        fail(f"error: {exc}")


def describe(
    target: TargetArgument,
    json_: Annotated[
        bool, typer.Option("--json", help="Print the description as JSON, with JSON Schemas.")
    ] = False,
    token: TokenOption = None,
    timeout: TimeoutOption = 5.0,
    tls: TlsOption = False,
    cafile: CafileOption = None,
    version: VersionOption = False,
) -> None:
    """Ask a running srpc server for its interface and print each procedure.

    Prints the service's name and fingerprint, then each procedure's
    signature, how it is called (unary, server stream, client stream or
    bidirectional) and its docstring. --json prints the whole description,
    with a JSON Schema for every parameter and result. A server started
    with reflection=False does not describe itself.

    Example:

      srpc describe 127.0.0.1:5000

      srpc describe tcp://127.0.0.1:5000 --json
    """
    from srpc.dynamic import dumps

    with _dynamic_client(target, token, timeout, tls, cafile) as client:
        description = client.describe()
    if json_:
        typer.echo(dumps(description, indent=2))
        return
    typer.echo(_description_text(description, client.label))


_KIND_TEXT = {
    "server_stream": "streams its result",
    "client_stream": "streams an argument",
    "bidirectional": "streams an argument and its result",
}


def _description_text(description: dict[str, Any], label: str) -> str:
    lines = [
        f"service {description.get('service')} at {label}",
        f"fingerprint {description.get('fingerprint')}",
    ]
    doc = str(description.get("doc") or "")
    if doc:
        lines += ["", *doc.splitlines()]
    for procedure in description.get("procedures", []):
        lines.append("")
        kind = _KIND_TEXT.get(str(procedure.get("kind")))
        lines.append(str(procedure.get("signature")) + (f"    [{kind}]" if kind else ""))
        for line in str(procedure.get("doc") or "").splitlines():
            lines.append(f"    {line}".rstrip())
    return "\n".join(lines)


def call(
    target: TargetArgument,
    proc: Annotated[
        str, typer.Argument(help="The procedure's name.", metavar="PROC", show_default=False)
    ],
    arguments: Annotated[
        list[str] | None,
        # hidden: listed in the usage line, explained in the text (typer would show <list[str]>)
        typer.Argument(metavar="ARG", show_default=False, hidden=True),
    ] = None,
    token: TokenOption = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=0.001,
            metavar="<seconds>",
            help=(
                "Seconds the call may take, a stream's items included (default: no limit; "
                "connecting gives up after 5 s)."
            ),
            show_default=False,
        ),
    ] = None,
    tls: TlsOption = False,
    cafile: CafileOption = None,
    traceback: Annotated[
        bool,
        typer.Option("--traceback", help="On a remote error, also print the server's traceback."),
    ] = False,
    stdin: Annotated[
        bool,
        typer.Option(
            "--stdin",
            help=(
                "Read the streamed argument's items from standard input, one JSON value per "
                "line, each sent as soon as it is read."
            ),
        ),
    ] = False,
    version: VersionOption = False,
) -> None:
    """Call a procedure of a running srpc server, without a stub.

    Each ARG is a JSON value (a positional argument) or NAME=JSON (a keyword
    argument): a string needs its JSON quotes, bytes are base64 strings, a
    streamed argument is a JSON array of its items (or, with --stdin, one
    JSON value per line of standard input). The server validates
    the arguments as for any call. The result is
    printed as JSON (bytes as base64 strings, datetimes as ISO 8601
    strings, sets and tuples as arrays); a streamed result prints one JSON
    line per item as the items arrive. A remote error is printed on stderr
    with its type and message, exit status 1. Put -- before an argument
    that could be taken for an option (negative numbers are fine).

    Example:

      srpc call 127.0.0.1:5000 add 1 2

      srpc call 127.0.0.1:5000 greet '"Ada"' punctuation='"!"'

      printf '"a"\\n"b"\\n' | srpc call 127.0.0.1:5001 echo --stdin
    """
    from srpc.dynamic import (
        ArgumentError,
        ReflectionOff,
        RemoteCallFailed,
        dumps,
        parse_arguments,
        prepare_arguments,
    )

    try:
        args, kwargs = parse_arguments(arguments or [])
    except ArgumentError as exc:
        raise typer.BadParameter(str(exc), param_hint="ARG") from None

    def show(item: Any) -> None:
        sys.stdout.write(dumps(item) + "\n")
        sys.stdout.flush()

    with _dynamic_client(target, token, timeout, tls, cafile) as client:
        procedure: dict[str, Any] | None = None
        try:
            description = client.describe()
        except ReflectionOff:
            description = None
        if description is not None:
            known = {p.get("name"): p for p in description.get("procedures", [])}
            procedure = known.get(proc)
            if procedure is None:
                names = ", ".join(str(name) for name in known) or "none"
                fail(f"error: {client.service} has no procedure {proc!r} (it has: {names})")
        try:
            live = _stdin_items() if stdin else None
            args, kwargs, items = prepare_arguments(procedure, args, kwargs, live)
        except ArgumentError as exc:
            raise typer.BadParameter(str(exc), param_hint="ARG") from None
        try:
            result = client.call(proc, args, kwargs, items=items, on_item=show)
        except RemoteCallFailed as exc:
            if traceback and exc.traceback:
                stderr.print(exc.traceback.rstrip(), markup=False)
            fail(str(exc))
        except ArgumentError as exc:
            raise typer.BadParameter(str(exc), param_hint="ARG") from None
        if not client.streamed:
            typer.echo(dumps(result, indent=2))


def _stdin_items() -> Iterator[Any]:
    """The JSON values of stdin's non-blank lines, as they are read."""
    import msgspec

    from srpc.dynamic import ArgumentError

    for number, line in enumerate(iter(sys.stdin.readline, ""), 1):
        if line.strip():
            try:
                yield msgspec.json.decode(line)
            except msgspec.DecodeError as exc:
                raise ArgumentError(f"stdin line {number} is not a JSON value ({exc})") from None


def ping(
    target: TargetArgument,
    token: TokenOption = None,
    timeout: TimeoutOption = 5.0,
    tls: TlsOption = False,
    cafile: CafileOption = None,
    version: VersionOption = False,
) -> None:
    """Check that an srpc server answers (for health checks: exit status 0 when it does).

    Connects, completes the handshake, sends a Ping and waits for its Pong,
    then prints the service, its fingerprint and the round-trip times.
    Exit status 1 when the server cannot be reached, refuses the
    handshake (a wrong --token) or does not answer within --timeout.

    Example:

      srpc ping 127.0.0.1:5000

      srpc ping tcp://127.0.0.1:5000 --timeout 2
    """
    start = time.perf_counter()
    with _dynamic_client(target, token, timeout, tls, cafile) as client:
        handshake = client.connect()
        rtt = client.ping()
    total = time.perf_counter() - start
    typer.echo(
        f"{client.service} at {client.label} answered: ping {rtt * 1000:.2f} ms "
        f"(connect and handshake {handshake * 1000:.2f} ms, total {total * 1000:.2f} ms; "
        f"fingerprint {client.fingerprint[:12]})"
    )


# -- services: the NATS service protocol, asked -------------------------------------------


def services(
    target: Annotated[
        str,
        typer.Argument(
            help="The NATS server: nats://HOST:PORT, or nats://HOST:PORT/SERVICE for one service.",
            metavar="NATS_URL",
            show_default=False,
        ),
    ],
    json_: Annotated[
        bool, typer.Option("--json", help="Print the services and instances as JSON.")
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=0.05,
            max=60.0,
            metavar="<seconds>",
            help="Seconds to wait for the instances' answers (and to connect).",
        ),
    ] = 0.5,
    version: VersionOption = False,
) -> None:
    """List the srpc services on a NATS server, with each serving instance.

    Asks the NATS service protocol ($SRV.INFO and $SRV.STATS), which every
    srpc instance serving over NATS answers, and prints each service with
    its instances: id, interface fingerprint, NATS address, host and pid,
    calls and errors so far. Services that are not srpc's are left out.
    Credentials go in the URL (nats://TOKEN@HOST:PORT,
    nats://USER:PASSWORD@HOST:PORT). Exit status 1 when the NATS server
    cannot be reached.

    Example:

      srpc services nats://127.0.0.1:4222

      srpc services nats://127.0.0.1:4222/calc --json
    """
    import asyncio

    from srpc._nats_tools import NatsUnavailable, ask_services, parse_nats_target

    try:
        nats_target = parse_nats_target(target)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="NATS_URL") from None
    try:
        infos, stats = asyncio.run(ask_services(nats_target, timeout))
    except NatsUnavailable as exc:
        fail(f"error: {exc}")
    listing = _service_listing(infos, stats)
    if json_:
        import json

        typer.echo(json.dumps({"nats": nats_target.address, "services": listing}, indent=2))
        return
    typer.echo(_services_text(listing, nats_target.address, nats_target.service))


def _service_listing(infos: list[Any], stats: list[Any]) -> list[dict[str, Any]]:
    """Services by name, each with its instances (INFO and STATS joined by instance id)."""
    by_id: dict[str, dict[str, Any]] = {}
    for info in infos:
        by_id[info.instance_id] = {
            "service": info.service,
            "id": info.instance_id,
            "fingerprint": info.fingerprint,
            "version": info.version,
            "address": info.address,
            "host": info.host,
            "pid": info.pid,
            "subject": info.subject,
            "queue_group": info.queue_group,
            "procedures": list(info.procedures),
            "started": None,
            "calls": None,
            "errors": None,
            "endpoints": [],
        }
    for s in stats:
        entry = by_id.setdefault(
            s.instance_id,
            {
                "service": s.service,
                "id": s.instance_id,
                "fingerprint": s.fingerprint,
                "version": s.version,
                "address": s.address,
                "host": s.host,
                "pid": s.pid,
                "subject": None,
                "queue_group": None,
                "procedures": [e.procedure for e in s.endpoints],
            },
        )
        entry["started"] = None if s.started is None else s.started.isoformat()
        entry["calls"] = s.calls
        entry["errors"] = s.errors
        entry["endpoints"] = [
            {
                "procedure": e.procedure,
                "calls": e.num_requests,
                "errors": e.num_errors,
                "last_error": e.last_error or None,
                "average_ms": e.average_processing_time_ns / 1e6,
            }
            for e in s.endpoints
        ]
    grouped: dict[str, list[dict[str, Any]]] = {}
    for entry in by_id.values():
        grouped.setdefault(entry.pop("service"), []).append(entry)
    return [
        {
            "service": name,
            "fingerprints": sorted({i["fingerprint"] for i in grouped[name]}),
            "instances": sorted(grouped[name], key=lambda i: (i["fingerprint"], i["id"])),
        }
        for name in sorted(grouped)
    ]


def _columns(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]


def _services_text(listing: list[dict[str, Any]], address: str, service: str | None) -> str:
    if not listing:
        which = f"no srpc service {service!r}" if service else "no srpc services"
        return f"{which} on {address}"
    count = sum(len(s["instances"]) for s in listing)
    lines = [
        f"{len(listing)} srpc service{'s' if len(listing) != 1 else ''}, "
        f"{count} instance{'s' if count != 1 else ''} on {address}"
    ]
    for s in listing:
        instances, prints = s["instances"], s["fingerprints"]
        lines += [
            "",
            f"{s['service']}: {len(instances)} instance{'s' if len(instances) != 1 else ''}, "
            f"{len(prints)} fingerprint{'s' if len(prints) != 1 else ''}",
        ]
        rows = [["  instance", "fingerprint", "address", "host", "pid", "calls", "errors"]]
        for i in instances:
            rows.append(
                [
                    f"  {i['id']}",
                    i["fingerprint"][:12],
                    i["address"] or "-",
                    i["host"] or "-",
                    "-" if i["pid"] is None else str(i["pid"]),
                    "-" if i["calls"] is None else f"{i['calls']:,}",
                    "-" if i["errors"] is None else f"{i['errors']:,}",
                ]
            )
        lines += _columns(rows, right={4, 5, 6})
    return "\n".join(lines)


app.command("describe", context_settings=CONTEXT_SETTINGS, short_help=SHORT_HELP["describe"])(
    describe
)
app.command(
    "call",
    context_settings={**CONTEXT_SETTINGS, "ignore_unknown_options": True},
    short_help=SHORT_HELP["call"],
)(call)
app.command("ping", context_settings=CONTEXT_SETTINGS, short_help=SHORT_HELP["ping"])(ping)
app.command("services", context_settings=CONTEXT_SETTINGS, short_help=SHORT_HELP["services"])(
    services
)


def _single_command_app(command: Callable[..., Any]) -> typer.Typer:
    single = typer.Typer(add_completion=False, rich_markup_mode=None)
    single.command(context_settings=CONTEXT_SETTINGS)(command)
    return single


def main() -> None:
    """Entry point of ``srpc`` and ``python -m srpc``."""
    app()


def stubgen_main() -> None:
    """Entry point of ``srpc-stubgen`` (the same command as ``srpc stubgen``)."""
    _single_command_app(stubgen)(prog_name="srpc-stubgen")


def metrics_main() -> None:
    """Entry point of ``srpc-metrics`` (the same command as ``srpc metrics``)."""
    _single_command_app(metrics)(prog_name="srpc-metrics")
