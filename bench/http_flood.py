"""Benchmark: RPC latency while every HTTP port is under 200 slow or flooding clients (issue 22, item 3).

    make bench-http        # or: .venv/bin/python -m bench.http_flood [--calls 300] [--clients 200]

Starts the five services as processes (`ops.sandbox`), measures `housing.health()` and `notify.health()`
RPC p50/p99 with nothing else running (the same-run baseline), then again while a separate process keeps
`--clients` hostile connections on every service's port: a third stall their headers, a third (on notify's
receipt callback; elsewhere `/livez`) stall their bodies, and a third loop on `/health`, `/livez` and
`/metrics`. Prints both, whether the target (issue 22: each flooded p99 within `TARGET_RATIO` times its
baseline) is met, and the load average beside them; writes them to var/bench/http_flood.json. `make
test-faults` runs it after its pytest run.
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import requests  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from bench.results import save  # noqa: E402
from ops.sandbox import running_platform  # noqa: E402
from shared.platform.config import REPO_ROOT  # noqa: E402
from tests.support.slow_http import slow_body_post, slow_headers  # noqa: E402

SLOW_BODY_PATHS = {"notify": "/callbacks/sms/receipts"}
FLOOD_PATHS = ("/health", "/livez", "/metrics")
TARGET_RATIO = 2.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def rpc_latencies(proxy, calls: int) -> dict:
    samples = {}
    for service in ("housing", "notify"):
        timings = []
        for _ in range(calls):
            started = time.perf_counter()
            getattr(proxy, service).health()
            timings.append((time.perf_counter() - started) * 1000)
        samples[service] = {"p50_ms": round(percentile(timings, 50), 1), "p99_ms": round(percentile(timings, 99), 1)}
    return samples


def hostile(address: str, service: str, clients: int) -> None:
    """Runs in its own process until killed: re-opens each stalled connection the server closes."""
    slow_path = SLOW_BODY_PATHS.get(service, "/livez")

    def stall(open_one):
        while True:
            try:
                sock = open_one()
                sock.recv(65536)  # returns when the server answers or closes
                sock.close()
            except OSError:
                eventlet.sleep(0.1)

    def flood(path):
        session = requests.Session()
        while True:
            try:
                session.get(f"http://{address}{path}", timeout=30)
            except requests.RequestException:
                eventlet.sleep(0.1)

    pool = eventlet.GreenPool(clients)
    for i in range(clients):
        kind = i % 3
        if kind == 0:
            pool.spawn(stall, lambda: slow_headers(address))
        elif kind == 1:
            pool.spawn(stall, lambda: slow_body_post(address, slow_path))
        else:
            pool.spawn(flood, FLOOD_PATHS[i % len(FLOOD_PATHS)])
    pool.waitall()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--hostile", nargs=2, metavar=("ADDRESS", "SERVICE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hostile:
        return hostile(*args.hostile, args.clients)

    with tempfile.TemporaryDirectory() as tmp, running_platform(Path(tmp)) as platform:
        context = {"authorization": platform.token("bench-ops", "admin")}
        with ClusterRpcProxy(platform.rpc_config(), timeout=60, context_data=context) as proxy:
            rpc_latencies(proxy, 20)  # warm-up
            baseline = rpc_latencies(proxy, args.calls)
            attackers = [
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "bench.http_flood",
                        "--clients",
                        str(args.clients),
                        "--hostile",
                        f"127.0.0.1:{port}",
                        service,
                    ],
                    cwd=REPO_ROOT,
                )  # fmt: skip
                for service, port in platform.ports.items()
            ]
            try:
                time.sleep(3)  # lets every attacker open its connections before the measurement
                flooded = rpc_latencies(proxy, args.calls)
            finally:
                for attacker in attackers:
                    attacker.kill()
                    attacker.wait()
    ratios = {
        service: round(flooded[service]["p99_ms"] / max(baseline[service]["p99_ms"], 0.1), 2) for service in baseline
    }
    met = all(ratio <= TARGET_RATIO for ratio in ratios.values())
    load = [round(value, 2) for value in os.getloadavg()]
    result = {
        "clients_per_port": args.clients,
        "calls": args.calls,
        "baseline": baseline,
        "flooded": flooded,
        "p99_ratio": ratios,
        "target_met": met,
        "load_average": load,
    }
    for service in baseline:
        b, f = baseline[service], flooded[service]
        print(
            f"{service}.health() RPC  baseline p50 {b['p50_ms']} ms  p99 {b['p99_ms']} ms   "
            f"with {args.clients} hostile clients per port p50 {f['p50_ms']} ms  p99 {f['p99_ms']} ms  "
            f"(p99 x{ratios[service]:.2f})"
        )
    print(
        f"target: every RPC p99 within {TARGET_RATIO:g}x its same-run baseline: {'met' if met else 'NOT MET'}"
        f"  (load average {load[0]} {load[1]} {load[2]}, {os.cpu_count()} cores)"
    )
    save("http_flood", result)


if __name__ == "__main__":
    main()
