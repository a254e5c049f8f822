"""Named places where the fault suite can kill a service with SIGKILL, to prove the recovery of the
exact window a crash there leaves open (committed but not published, recorded but not sent, folded but
not committed, committed but not acknowledged).

`crash_point("housing", "outbox.before_publish")` does nothing unless the process was started with
`NEWCITIZEN_CRASH_DIR` set and a file named `housing.outbox.before_publish` exists in it. The first
process to pass the point removes the file and kills itself, so a point fires once and a restarted
service runs normally. No deployment sets the variable.
"""

from __future__ import annotations

import os
import signal

CRASH_DIR = os.environ.get("NEWCITIZEN_CRASH_DIR") or None


def crash_point(service: str, point: str) -> None:
    if CRASH_DIR is None:  # on hot paths: nothing more than this test unless the suite asked for it
        return
    try:
        os.remove(os.path.join(CRASH_DIR, f"{service}.{point}"))  # only one passer can remove it: the point fires once
    except FileNotFoundError:
        return
    os.kill(os.getpid(), signal.SIGKILL)
