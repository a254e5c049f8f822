"""Start, stop and watch the five services the way `make start` / `make stop` do.

    python -m ops.launcher start|stop|status|banner

`start` runs honcho with the Procfile in its own process group, logs to `var/log/platform.log`, keeps
the pid in `var/run/platform.pid`, and waits until every service answers `GET /health`.
The end-to-end tests call `start_platform` with their own environment and run directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from shared.config import REPO_ROOT, SERVICES, load_service_config

DEFAULT_RUN_DIR = REPO_ROOT / "var"
READY_TIMEOUT_SECONDS = 90


def http_address(service: str, env: dict | None = None) -> str:
    saved = dict(os.environ)
    try:
        if env:
            os.environ.update(env)
        address = str(load_service_config(service)["WEB_SERVER_ADDRESS"])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    host, port = address.rsplit(":", 1)
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"


def health_of(service: str, env: dict | None = None, timeout: float = 2) -> dict | None:
    try:
        response = requests.get(f"{http_address(service, env)}/health", timeout=timeout)
        return response.json() if response.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None


def start_platform(
    env: dict | None = None, run_dir: Path = DEFAULT_RUN_DIR, timeout: float = READY_TIMEOUT_SECONDS
) -> subprocess.Popen:
    (run_dir / "log").mkdir(parents=True, exist_ok=True)
    (run_dir / "run").mkdir(parents=True, exist_ok=True)
    pid_file = run_dir / "run" / "platform.pid"
    if pid_file.exists() and _alive(int(pid_file.read_text())):
        raise RuntimeError(f"already running (pid {pid_file.read_text().strip()}); `make stop` first")
    full_env = {**os.environ, **(env or {}), "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
    bin_dir = Path(sys.executable).parent
    full_env["PATH"] = f"{bin_dir}{os.pathsep}{full_env.get('PATH', '')}"
    log = open(run_dir / "log" / "platform.log", "ab")  # noqa: SIM115 (the child owns it from here)
    process = subprocess.Popen(
        [str(bin_dir / "honcho"), "start", "-f", str(REPO_ROOT / "Procfile")],
        cwd=REPO_ROOT,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    pid_file.write_text(str(process.pid))
    deadline = time.time() + timeout
    waiting = set(SERVICES)
    while waiting and time.time() < deadline:
        if process.poll() is not None:
            break
        waiting = {service for service in waiting if health_of(service, env) is None}
        time.sleep(0.5)
    if waiting:
        stop_platform(run_dir)
        raise RuntimeError(
            f"not healthy after {timeout:.0f}s: {', '.join(sorted(waiting))}; see {run_dir / 'log' / 'platform.log'}"
        )
    return process


def stop_platform(run_dir: Path = DEFAULT_RUN_DIR, timeout: float = 20) -> bool:
    pid_file = run_dir / "run" / "platform.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    if _alive(pid):
        os.killpg(pid, signal.SIGTERM)
        deadline = time.time() + timeout
        while _alive(pid) and time.time() < deadline:
            time.sleep(0.2)
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return True


def _alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:  # a zombie child of ours still "exists"; reap it
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def banner(env: dict | None = None) -> str:
    lines = ["New Citizen Service Platform: five services", ""]
    for service in SERVICES:
        base = http_address(service, env)
        lines.append(f"  {service:<10} health {base}/health   metrics {base}/metrics")
    lines += ["", "  RPC over RabbitMQ: see README.md (nameko shell, or a ClusterRpcProxy with a token)."]
    return "\n".join(lines)


def status() -> int:
    healthy = 0
    for service in SERVICES:
        state = health_of(service)
        print(f"{service:<10} {'ok' if state else 'DOWN'}  {http_address(service)}/health")
        healthy += bool(state)
    return 0 if healthy == len(SERVICES) else 1


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "status"
    if command == "start":
        start_platform()
        print(banner())
        print(f"\nlogs: {DEFAULT_RUN_DIR / 'log' / 'platform.log'}   stop: make stop")
        return 0
    if command == "stop":
        print("stopped" if stop_platform() else "not running")
        return 0
    if command == "banner":
        print(banner())
        return 0
    if command == "status":
        return status()
    print("usage: python -m ops.launcher start|stop|status|banner", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
