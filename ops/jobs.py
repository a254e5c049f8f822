"""Following a service's job (shared/platform/jobs.py) from outside: the `newcitizen` command and the demo loader.

A job id names its service (`housing.<uuid>`), so `newcitizen job ID` needs nothing else to re-attach."""

from __future__ import annotations

import time
from collections.abc import Callable

POLL_SECONDS = 1.0
FINISHED = frozenset({"completed", "failed"})


def service_of(job_id: str) -> str:
    return str(job_id).split(".", 1)[0]


def follow(rpc, job: dict, on_progress: Callable[[dict], None] = lambda job: None) -> dict:
    """Ask `job_status` every `POLL_SECONDS` until the job has finished; `rpc` is a cluster proxy. A
    KeyboardInterrupt here leaves the job running in its service."""
    service = getattr(rpc, service_of(job["job_id"]))
    while job["status"] not in FINISHED:
        job = service.job_status(job["job_id"])
        on_progress(job)
        if job["status"] not in FINISHED:
            time.sleep(POLL_SECONDS)
    return job
