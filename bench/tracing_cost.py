"""What tracing costs: the core flow's CPU per approval with tracing off (the default) and on.

    make bench-tracing
    .venv/bin/python -m bench.tracing_cost [--approvals 300] [--concurrency 10] [--rounds 2]

Each round runs `bench.core_flow`'s throughput run (submit + approve until notify has delivered and stats has
counted every approval) on two throw-away platforms, one with no OpenTelemetry variable and one exporting
over OTLP/HTTP to a local collector (tests/support/otlp_collector.py, the SDK's default batching). The
figure is each service's user + system CPU per approval, from /proc, the steadiest figure on a shared
machine; rounds alternate off and on so drift in the machine's load falls on both.

Off, the difference from no tracing code at all is below what the end-to-end figure can resolve, so the run
first times the off path's three calls on their own: the worker hooks (per worker), `current_traceparent`
(per event written) and `current_ids` (per log line).
"""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import timeit  # noqa: E402
from pathlib import Path  # noqa: E402

from bench.core_flow import Clients, throughput  # noqa: E402
from ops.sandbox import running_platform  # noqa: E402
from shared.platform import tracing  # noqa: E402
from shared.platform.config import SERVICES  # noqa: E402
from tests.support.otlp_collector import running_collector  # noqa: E402

TRACED = ("housing", "notify", "stats")


def cpu_per_approval(approvals: int, concurrency: int, endpoint: str | None) -> tuple[dict, int]:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint} if endpoint else {}
    with tempfile.TemporaryDirectory() as tmp, running_platform(Path(tmp), extra_env=env) as platform:
        clients = Clients(platform, concurrency)
        try:
            throughput(clients, 20, concurrency)  # warm-up: imports, connections, first statements
            run = throughput(clients, approvals, concurrency)
        finally:
            clients.stop()
    return run["cpu_ms_per_approval"], approvals


def off_path_microseconds(calls: int = 200_000) -> dict:
    class Worker:
        class entrypoint:  # noqa: N801  (the attribute nameko's worker context has)
            method_name = "review_subsidy_application"

    hooks, worker = tracing.Tracing(), Worker()
    hooks.on = False
    timed = {
        "worker hooks (setup, result, teardown)": lambda: (
            hooks.worker_setup(worker),
            hooks.worker_result(worker),
            hooks.worker_teardown(worker),
        ),
        "current_traceparent (an event written)": lambda: tracing.current_traceparent({}),
        "current_ids (a log line)": tracing.current_ids,
    }
    return {name: 1e6 * timeit.timeit(call, number=calls) / calls for name, call in timed.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--approvals", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    for name, micros in off_path_microseconds().items():
        print(f"off: {name}: {micros:.2f} µs")
    runs: dict[str, list[dict]] = {"off": [], "on": []}
    with running_collector() as collector:
        for _ in range(args.rounds):
            for mode in ("off", "on"):
                cpu, _count = cpu_per_approval(
                    args.approvals, args.concurrency, collector.endpoint if mode == "on" else None
                )
                runs[mode].append(cpu)
                print(mode, {service: round(cpu[service], 2) for service in SERVICES}, flush=True)
        spans = len(collector.spans)
    print(f"\nCPU ms per approval, median of {args.rounds} rounds of {args.approvals} (spans exported: {spans})")
    print(f"{'service':<10}{'off':>8}{'on':>8}{'on - off':>10}")
    for service in (*TRACED, "all five"):
        figures = {}
        for mode, measured in runs.items():
            per_run = [sum(run.values()) if service == "all five" else run[service] for run in measured]
            figures[mode] = statistics.median(per_run)
        print(f"{service:<10}{figures['off']:>8.2f}{figures['on']:>8.2f}{figures['on'] - figures['off']:>+10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
