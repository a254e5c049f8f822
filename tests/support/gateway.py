"""The fake SMS gateway (services/notify/fake_gateway.py) as a process on loopback, for the tests that send
through it over real HTTP."""

from __future__ import annotations

import subprocess
import sys

import requests

from shared.platform.config import REPO_ROOT
from tests.support.waiting import ConditionNotMet, wait_for


def start_fake_gateway(port: int, callback: str, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **options):
    """Start it on `port`, pushing receipts to `callback`; `options` become its flags (`api_key` →
    `--api-key`). Returns the process once the gateway answers, and its base URL."""
    argv = [sys.executable, "-m", "services.notify.fake_gateway", "--port", str(port), "--callback", callback]
    for key, value in options.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    process = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=stdout, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(url), timeout=30, what="the fake gateway answering")  # a loaded machine
    except ConditionNotMet:
        process.terminate()
        raise
    return process, url


def _answers(url: str) -> bool:
    try:
        requests.get(f"{url}/test/stats", timeout=1)
        return True
    except requests.RequestException:
        return False
