"""Start, stop and watch the five services the way `make start` / `make stop` do.

    python -m ops.launcher start|stop|status|banner

`start` runs each service's Procfile command as its own background process (its own session, so a
signal to it reaches only that service), logs to `var/log/<service>.log`, keeps its pid in
`var/run/<service>.pid`, and waits until every service answers `GET /readyz`. The Procfile stays the one
place that says how a service is started: `make run` hands it to honcho in the foreground. The end-to-end
and fault suites use the same functions with their own environment and run directory.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from shared.platform.broker_access import own_amqp_uri
from shared.platform.config import REPO_ROOT, SERVICES, load_service_config

DEFAULT_RUN_DIR = REPO_ROOT / "var"
READY_TIMEOUT_SECONDS = 90


def procfile_commands(procfile: Path = REPO_ROOT / "Procfile") -> dict[str, list[str]]:
    commands = {}
    for line in procfile.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            commands[name.strip()] = shlex.split(command)
    return commands


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
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"  # noqa: S104 (reading, not binding)


def health_of(service: str, env: dict | None = None, timeout: float = 2) -> dict | None:
    try:
        response = requests.get(f"{http_address(service, env)}/readyz", timeout=timeout)
        return response.json() if response.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None


def _pid_file(run_dir: Path, service: str) -> Path:
    return run_dir / "run" / f"{service}.pid"


def start_service(service: str, env: dict | None = None, run_dir: Path = DEFAULT_RUN_DIR) -> int:
    (run_dir / "log").mkdir(parents=True, exist_ok=True)
    (run_dir / "run").mkdir(parents=True, exist_ok=True)
    pid_file = _pid_file(run_dir, service)
    if pid_file.exists() and _alive(int(pid_file.read_text())):
        raise RuntimeError(f"{service} already running (pid {pid_file.read_text().strip()}); `make stop` first")
    bin_dir = Path(sys.executable).parent
    full_env = {**os.environ, **(env or {}), "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
    full_env["PATH"] = f"{bin_dir}{os.pathsep}{full_env.get('PATH', '')}"
    if own_amqp_uri(service, full_env, ""):  # its own broker user (the opt-in local users, the tests' sandbox)
        full_env["AMQP_URI"] = own_amqp_uri(service, full_env, "")
    command = procfile_commands()[service]
    command[0] = str(bin_dir / command[0]) if (bin_dir / command[0]).exists() else command[0]
    with open(run_dir / "log" / f"{service}.log", "ab") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    pid_file.write_text(str(process.pid))
    return process.pid


def wait_healthy(
    services, env: dict | None = None, timeout: float = READY_TIMEOUT_SECONDS, run_dir: Path = DEFAULT_RUN_DIR
) -> set[str]:
    """Wait until each service answers /readyz; returns the ones that did not in time."""
    deadline = time.time() + timeout
    waiting = set(services)
    while waiting and time.time() < deadline:
        waiting = {service for service in waiting if health_of(service, env) is None}
        dead = {service for service in waiting if not _alive(service_pid(service, run_dir) or -1)}
        if dead:
            return waiting
        if waiting:
            time.sleep(0.3)
    return waiting


def start_platform(
    env: dict | None = None, run_dir: Path = DEFAULT_RUN_DIR, timeout: float = READY_TIMEOUT_SECONDS
) -> None:
    for service in SERVICES:
        start_service(service, env, run_dir)
    waiting = wait_healthy(SERVICES, env, timeout, run_dir)
    if waiting:
        stop_platform(run_dir)
        raise RuntimeError(f"not healthy after {timeout:.0f}s: {', '.join(sorted(waiting))}; see {run_dir / 'log'}")


def service_pid(service: str, run_dir: Path = DEFAULT_RUN_DIR) -> int | None:
    pid_file = _pid_file(run_dir, service)
    return int(pid_file.read_text()) if pid_file.exists() else None


def signal_service(service: str, sig: int, run_dir: Path = DEFAULT_RUN_DIR) -> bool:
    pid = service_pid(service, run_dir)
    if pid is None or not _alive(pid):
        return False
    os.killpg(pid, sig)
    return True


def stop_service(service: str, run_dir: Path = DEFAULT_RUN_DIR, timeout: float = 20) -> bool:
    return stop_services([service], run_dir, timeout) == [service]


def stop_services(services, run_dir: Path = DEFAULT_RUN_DIR, timeout: float = 20) -> list[str]:
    """SIGTERM to all of them at once, then SIGKILL what is still running after `timeout`: each drains its
    workers at the same time as the others, so stopping five costs one drain, not five in a row."""
    pids = {service: service_pid(service, run_dir) for service in services}
    pids = {service: pid for service, pid in pids.items() if pid is not None}
    for pid in pids.values():
        if _alive(pid):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.time() + timeout
    while any(_alive(pid) for pid in pids.values()) and time.time() < deadline:
        time.sleep(0.1)
    for pid in pids.values():
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
    for service in pids:
        _pid_file(run_dir, service).unlink(missing_ok=True)
    return list(pids)


def stop_platform(run_dir: Path = DEFAULT_RUN_DIR) -> bool:
    return bool(stop_services(SERVICES, run_dir))


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:  # reap it if it is our exited child, so a zombie does not count as alive
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def banner(env: dict | None = None) -> str:
    lines = ["New Citizen Service Platform: five services", ""]
    for service in SERVICES:
        base = http_address(service, env)
        lines.append(f"  {service:<10} live {base}/livez   ready {base}/readyz   metrics {base}/metrics")
    lines += [
        "",
        "  RPC over RabbitMQ: see README.md (a ClusterRpcProxy with a token from `python -m shared.platform.auth`).",
    ]
    return "\n".join(lines)


def status() -> int:
    healthy = 0
    for service in SERVICES:
        state = health_of(service)
        print(f"{service:<10} {'ok' if state else 'DOWN'}  {http_address(service)}/readyz")
        healthy += bool(state)
    return 0 if healthy == len(SERVICES) else 1


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "status"
    if command == "start":
        start_platform()
        print(banner())
        print(f"\nlogs: {DEFAULT_RUN_DIR / 'log'}/<service>.log   stop: make stop")
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
