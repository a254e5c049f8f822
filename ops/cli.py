"""`newcitizen`: the operator's command line for the New Citizen Service Platform.

    newcitizen token [--sub NAME] [--roles admin] [--ttl SECONDS]
    newcitizen health
    newcitizen outbox status [--via database|metrics]
    newcitizen dlq list [--service S] [--limit N] [--json]
    newcitizen dlq replay [--service S] [--queue Q] [--limit N] [--yes]
    newcitizen disburse PERIOD                       # housing.run_disbursement("YYYY-MM")
    newcitizen broadcast TEMPLATE SEGMENT [-p key=value ...] [--no-wait]
    newcitizen report FROM_YEAR TO_YEAR [--json]
    newcitizen backup DIR [--service S ...]          # every service's database (SQLite or PostgreSQL)
    newcitizen restore DIR [--service S ...] [--replace]

Everything is read from the services' own config files with the environment applied (AMQP_URI,
<SVC>_DATABASE_URL, <SVC>_HTTP_ADDRESS ...), so run it with the same environment as the services. It is an
issuer: RPC calls carry a short-lived `admin` token for `ops-cli` signed with JWT_PRIVATE_KEY (staff names
as the staff registry, STAFF_REGISTRY, grants them; shared/platform/token_issuer.py).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import warnings
from typing import Any

# an operator's terminal is no place for eventlet's and pkg_resources' deprecation notices
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

from rich.console import Console  # noqa: E402
from rich.progress import (  # noqa: E402
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table  # noqa: E402

from shared.platform.auth import DEFAULT_TTL_SECONDS, ROLES  # noqa: E402
from shared.platform.config import SERVICES  # noqa: E402

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
LONG_RPC_TIMEOUT_SECONDS = 3600
BROADCAST_POLL_SECONDS = 1.0
BROADCAST_DONE = frozenset({"completed", "complete", "done", "finished", "failed", "cancelled"})


def _console() -> Console:
    # built per command so output follows whatever sys.stdout is now (a pipe, a test's capture)
    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else 160, soft_wrap=False)


def _settings():
    from ops.settings import Settings

    return Settings()


def _rpc(timeout: float = LONG_RPC_TIMEOUT_SECONDS):
    from nameko.standalone.rpc import ClusterRpcProxy

    from shared.platform.auth import CONTEXT_KEY

    settings = _settings()
    return ClusterRpcProxy(settings.rpc_config(), context_data={CONTEXT_KEY: settings.token()}, timeout=timeout)


# ---------------------------------------------------------------- token, health, outbox


def cmd_token(args) -> int:
    roles = [role.strip() for role in args.roles.split(",") if role.strip()]
    print(_settings().token(sub=args.sub, roles=roles, ttl_seconds=args.ttl))
    return 0


def cmd_health(args) -> int:
    from ops.checks import health

    results = health(_settings())
    table = Table(title="Service health")
    for column in ("service", "HTTP /readyz", "RPC health()", "version"):
        table.add_column(column)
    for result in results:
        style = "green" if result.ok else "red"
        table.add_row(result.service, result.http, result.rpc, result.version or "-", style=style)
    _console().print(table)
    return 0 if all(result.ok for result in results) else 1


def cmd_outbox_status(args) -> int:
    from ops.checks import outbox_status

    statuses = outbox_status(_settings(), via=args.via)
    table = Table(title=f"Outbox backlog (from each service's {args.via})")
    for column in ("service", "unpublished", "oldest (s)", "failed before", "note"):
        table.add_column(column)
    for status in statuses:
        table.add_row(
            status.service,
            "-" if status.backlog is None else str(status.backlog),
            "-" if status.oldest_age_seconds is None else f"{status.oldest_age_seconds:.0f}",
            "-" if status.failing is None else str(status.failing),
            status.error or "",
        )
    _console().print(table)
    return 0 if all(status.error is None or status.source == "metrics" for status in statuses) else 1


# ---------------------------------------------------------------- dead-letter queues


def _chosen_services(args) -> list[str]:
    return [args.service] if args.service else list(SERVICES)


def cmd_dlq_list(args) -> int:
    from ops import dlq

    settings = _settings()
    letters = []
    for service in _chosen_services(args):
        letters += dlq.list_dead_letters(settings.amqp_uri, service, limit=args.limit)
    if args.json:
        print(json.dumps([letter.summary() for letter in letters], ensure_ascii=False, indent=2, default=str))
        return 0
    depths = dlq.depths(settings.amqp_uri, _chosen_services(args))
    console = _console()
    summary = ", ".join(f"{service}: {'-' if depth is None else depth}" for service, depth in depths.items())
    console.print(f"dead letters per service ({summary})")
    table = Table()
    for column in ("dlq", "#", "original queue", "event", "attempts", "reason", "dead-lettered at"):
        table.add_column(column, overflow="fold")
    for letter in letters:
        row = letter.summary()
        event = f"{row.get('source', '?')}.{row.get('event_type', '?')} {row.get('event_id', '')}".strip()
        table.add_row(
            row["queue"],
            str(row["position"]),
            row["original_queue"] or "-",
            event,
            str(row["attempts"]),
            row["reason"],
            str(row["dead_lettered_at"] or "-"),
        )
    console.print(table)
    return 0


def cmd_dlq_replay(args) -> int:
    from ops import dlq
    from shared.platform.retention import dlq_replay_window

    settings = _settings()
    services = _chosen_services(args)
    depths = {service: depth for service, depth in dlq.depths(settings.amqp_uri, services).items() if depth}
    console = _console()
    if not depths:
        console.print("no dead letters to replay")
        return 0
    total = sum(min(depth, args.limit) if args.limit else depth for depth in depths.values())
    if not args.yes:
        console.print(f"would replay up to {total} message(s) from: {', '.join(f'{s}.dlq' for s in depths)}")
        console.print("re-run with --yes to replay (fix the cause first: a message that fails again returns)")
        return 0
    results = []
    with _progress(console) as progress:
        task = progress.add_task("replaying", total=total)
        for service in depths:
            results.append(
                dlq.replay(
                    settings.amqp_uri,
                    service,
                    limit=args.limit,
                    original_queue=args.queue,
                    on_progress=lambda _letter, _ok: progress.advance(task),
                    window=dlq_replay_window(settings.service(service).config),
                )
            )
    kept = [item for result in results for item in result.kept]
    passed_over = sum(result.passed_over for result in results)
    console.print(
        f"replayed {sum(result.replayed for result in results)} message(s); {len(kept)} left in the dead-letter queue"
    )
    if passed_over:
        console.print(f"{passed_over} message(s) from other queues than {args.queue} left as they were")
    for letter, problem in kept:
        console.print(f"  kept {letter.service}.dlq #{letter.position}: {problem}")
    return 1 if kept else 0


def _progress(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


# ---------------------------------------------------------------- RPC-driven operations


def _print_result(result: Any, as_json: bool = False) -> None:
    if as_json or not isinstance(result, dict):
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        return
    table = Table(show_header=False)
    for key, value in result.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        table.add_row(str(key), text)
    _console().print(table)


def cmd_disburse(args) -> int:
    if not PERIOD.match(args.period):
        print(f"PERIOD must be YYYY-MM, got {args.period!r}", file=sys.stderr)
        return 2
    console = _console()
    with _rpc() as rpc, console.status(f"running the {args.period} disbursement (housing.run_disbursement)"):
        result = rpc.housing.run_disbursement(args.period)
    _print_result(result, args.json)
    return 0


def parse_personalisation(pairs: list[str]) -> dict[str, str]:
    personalisation = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"personalisation must be key=value, got {pair!r}")
        personalisation[key] = value
    return personalisation


def parse_segment(text: str) -> str | dict[str, str]:
    """`all`, or `town=宗汉街道`, `category=graduate` (several joined by commas)."""
    if "=" not in text:
        return text
    return dict(part.split("=", 1) for part in text.split(",") if part)


def _template_id(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def cmd_broadcast(args) -> int:
    try:
        personalisation = parse_personalisation(args.param)
    except argparse.ArgumentTypeError as exc:
        print(exc, file=sys.stderr)
        return 2
    console = _console()
    with _rpc() as rpc:
        with console.status("starting the broadcast (notify.broadcast)"):
            started = rpc.notify.broadcast(_template_id(args.template), parse_segment(args.segment), personalisation)
        broadcast_id = started.get("id", started.get("broadcast_id")) if isinstance(started, dict) else started
        if args.no_wait or broadcast_id is None:
            _print_result(started, args.json)
            return 0
        final = _follow_broadcast(rpc, broadcast_id, started if isinstance(started, dict) else {}, console)
    _print_result(final, args.json)
    return 0 if str(final.get("status", "")).lower() != "failed" else 1


def _broadcast_counts(state: dict) -> tuple[int | None, int]:
    total = state.get("total", state.get("recipients"))
    done = sum(int(state.get(key) or 0) for key in ("sent", "skipped", "failed", "held")) or int(
        state.get("processed") or 0
    )
    return (int(total) if total is not None else None), done


def _follow_broadcast(rpc, broadcast_id, state: dict, console: Console) -> dict:
    with _progress(console) as progress:
        total, done = _broadcast_counts(state)
        task = progress.add_task(f"broadcast {broadcast_id}", total=total, completed=done)
        while str(state.get("status", "")).lower() not in BROADCAST_DONE:
            time.sleep(BROADCAST_POLL_SECONDS)
            state = rpc.notify.get_broadcast(broadcast_id)
            total, done = _broadcast_counts(state)
            progress.update(
                task, total=total, completed=done, description=f"broadcast {broadcast_id}: {state.get('status')}"
            )
    return state


def cmd_report(args) -> int:
    if args.from_year > args.to_year:
        print("FROM must not be after TO", file=sys.stderr)
        return 2
    with _rpc() as rpc:
        report = rpc.stats.report(args.from_year, args.to_year)
    if args.json or not isinstance(report, dict):
        _print_result(report, as_json=True)
        return 0
    text = report.get("text")
    if text:
        _console().print(text)
    _print_result({key: value for key, value in report.items() if key != "text"})
    return 0


def _databases(services: list[str] | None) -> dict[str, str]:
    settings = _settings()
    return {name: settings.service(name).database_url for name in (services or SERVICES)}


def _backup_step(verb: str, step, line) -> int:
    """Run `step()` (ops.backup's backup or restore); print `line(entry)` per database, or every problem."""
    from ops.backup import BackupError

    try:
        entries = step()
    except BackupError as exc:
        for problem in exc.problems:
            print(f"{verb} refused: {problem}", file=sys.stderr)
        return 1
    for entry in entries:
        print(line(entry))
    return 0


def cmd_backup(args) -> int:
    from pathlib import Path

    from ops.backup import backup

    return _backup_step(
        "backup",
        lambda: backup(_databases(args.service), Path(args.dir)),
        lambda e: f"{e.service}: {e.kind} at revision {e.revision} -> {args.dir}/{e.file}",
    )


def cmd_restore(args) -> int:
    from pathlib import Path

    from ops.backup import restore

    return _backup_step(
        "restore",
        lambda: restore(_databases(args.service), Path(args.dir), replace=args.replace),
        lambda e: f"{e.service}: restored {e.file} (revision {e.revision}); `make migrate` brings it to head",
    )


# ---------------------------------------------------------------- wiring


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newcitizen", description="Operate the New Citizen Service Platform.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    token = commands.add_parser("token", help="print a caller token signed with the local config's JWT secret")
    token.add_argument("--sub", default="ops-cli", help="subject (default ops-cli)")
    token.add_argument("--roles", default="admin", help=f"comma-separated, of: {', '.join(sorted(ROLES))}")
    token.add_argument("--ttl", type=int, default=DEFAULT_TTL_SECONDS, help="lifetime in seconds")
    token.set_defaults(run=cmd_token)

    commands.add_parser("health", help="every service's /readyz and health() RPC").set_defaults(run=cmd_health)

    outbox = commands.add_parser("outbox", help="transactional outbox").add_subparsers(dest="action", required=True)
    status = outbox.add_parser("status", help="unpublished rows per service")
    status.add_argument("--via", choices=("database", "metrics"), default="database")
    status.set_defaults(run=cmd_outbox_status)

    dlq = commands.add_parser("dlq", help="dead-letter queues").add_subparsers(dest="action", required=True)
    listing = dlq.add_parser("list", help="show dead letters with their reasons (nothing is removed)")
    replay = dlq.add_parser("replay", help="re-publish dead letters to their original queues")
    for sub in (listing, replay):
        sub.add_argument("--service", choices=SERVICES, help="one service's DLQ (default: all)")
    listing.add_argument("--limit", type=int, default=100, help="per service (default 100)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=cmd_dlq_list)
    replay.add_argument("--queue", help="only messages whose x-original-queue is this queue")
    replay.add_argument("--limit", type=int, help="at most this many per service")
    replay.add_argument("--yes", action="store_true", help="really replay (without it: say what would happen)")
    replay.set_defaults(run=cmd_dlq_replay)

    disburse = commands.add_parser("disburse", help="run a month's subsidy disbursement (housing)")
    disburse.add_argument("period", help="YYYY-MM")
    disburse.add_argument("--json", action="store_true")
    disburse.set_defaults(run=cmd_disburse)

    broadcast = commands.add_parser("broadcast", help="send a template to a segment (notify), following progress")
    broadcast.add_argument("template", help="template id")
    broadcast.add_argument("segment", help="all | town=NAME | category=NAME")
    broadcast.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE", help="personalisation")
    broadcast.add_argument("--no-wait", action="store_true", help="return once the broadcast is accepted")
    broadcast.add_argument("--json", action="store_true")
    broadcast.set_defaults(run=cmd_broadcast)

    report = commands.add_parser("report", help="the Center's figures for a span of years (stats)")
    report.add_argument("from_year", type=int, metavar="FROM")
    report.add_argument("to_year", type=int, metavar="TO")
    report.add_argument("--json", action="store_true")
    report.set_defaults(run=cmd_report)

    backup = commands.add_parser("backup", help="copy every service's database into DIR, with a manifest")
    restore = commands.add_parser("restore", help="restore the databases from a backup DIR (services stopped)")
    for sub in (backup, restore):
        sub.add_argument("dir", metavar="DIR")
        sub.add_argument("--service", action="append", choices=SERVICES, help="only this service (repeatable)")
    restore.add_argument("--replace", action="store_true", help="overwrite a database that is not empty")
    backup.set_defaults(run=cmd_backup)
    restore.set_defaults(run=cmd_restore)
    return parser


def main(argv: list[str] | None = None) -> int:
    import eventlet

    eventlet.monkey_patch()  # nameko's standalone proxies and kombu expect a green world, as in `nameko run`
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # an operator wants the failure in one line, not a traceback
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
