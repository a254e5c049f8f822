"""Crash points kill the process that passes them once the marker exists, once, and never otherwise."""

import os
import signal
import subprocess
import sys

from shared.platform.config import REPO_ROOT

PASS_TWICE = (
    "from shared.platform.crashpoints import crash_point\n"
    "crash_point('svc', 'here'); print('first pass', flush=True)\n"
    "crash_point('svc', 'here'); print('second pass', flush=True)\n"
)


def run(env_extra: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "NEWCITIZEN_CRASH_DIR"}
    env.update(env_extra, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, "-c", PASS_TWICE], env=env, capture_output=True, text=True, timeout=30)


def test_without_the_variable_a_crash_point_does_nothing(tmp_path):
    (tmp_path / "svc.here").touch()
    done = run({})
    assert done.returncode == 0 and done.stdout.split("\n")[:2] == ["first pass", "second pass"]
    assert (tmp_path / "svc.here").exists()


def test_without_a_marker_a_crash_point_does_nothing(tmp_path):
    (tmp_path / "svc.elsewhere").touch()
    done = run({"NEWCITIZEN_CRASH_DIR": str(tmp_path)})
    assert done.returncode == 0 and "second pass" in done.stdout


def test_a_marker_kills_the_passing_process_with_sigkill_and_is_used_up(tmp_path):
    (tmp_path / "svc.here").touch()
    done = run({"NEWCITIZEN_CRASH_DIR": str(tmp_path)})
    assert done.returncode == -signal.SIGKILL and done.stdout == ""
    assert not (tmp_path / "svc.here").exists()
    again = run({"NEWCITIZEN_CRASH_DIR": str(tmp_path)})  # the restarted service runs normally
    assert again.returncode == 0 and "second pass" in again.stdout
