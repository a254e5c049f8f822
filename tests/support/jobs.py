"""Following a job (shared/platform/jobs.py) the way the CLI does: over its service's `job_status` RPC."""

from __future__ import annotations

from eventlet.queue import LightQueue

from shared.platform.jobs import ChunkContext, JobKind, JobRunner
from tests.support.waiting import wait_for

FINISHED = ("completed", "failed")


def until_finished(rpc, job: dict, timeout: float = 60) -> dict:
    """The job's view once it has finished (`rpc` is a proxy of the service that runs it)."""

    def finished():
        status = rpc.job_status(job["job_id"])
        return status if status["status"] in FINISHED else None

    return wait_for(finished, timeout=timeout, what=f"job {job['job_id']} finished")


def disburse(admin, period: str, backfill: bool = False, timeout: float = 60) -> dict:
    """Start the period's disbursement over `admin` (a housing proxy), wait for it, and return its result
    (`paid`, `total_fen`, `already_paid`, `batches`) as the RPC returned it before it was a job."""
    done = until_finished(admin, admin.run_disbursement(period, backfill=backfill), timeout)
    assert done["status"] == "completed", done
    return done["result"]


def run_inline(kind: JobKind, session, outbox, now, params: dict, size: int = 2) -> dict:
    """A job of `kind` run to its end in this process the way the runner runs it, a chunk per commit, without
    a service: its summed counters."""
    cursor, counts = "", {}
    while True:
        chunk = kind.chunk(ChunkContext(session, outbox, now, params, cursor, size))
        session.commit()
        cursor = chunk.cursor
        counts = {name: counts.get(name, 0) + value for name, value in chunk.counts.items()}
        if chunk.finished:
            return counts


class GatedRunner:
    """The container's job runner, allowed one `step` per `open()`: nothing is held while it waits."""

    def __init__(self, runner: JobRunner):
        self.tokens: LightQueue = LightQueue()
        step = runner.step

        def gated() -> bool:
            self.tokens.get(timeout=60)
            return step()

        runner.step = gated

    def open(self, steps: int = 1) -> None:
        for _ in range(steps):
            self.tokens.put(True)
