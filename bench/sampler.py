"""A CPU-weighted stack sampler for a service process, for `bench.core_flow --profile`.

    python -m bench.sampler OUT.json nameko run --config ... services.stats.service:StatsService

Runs the command (a console script on PATH) in this process with an OS thread beside it that, every
`SAMPLE_SECONDS`, reads the main thread's CPU clock and charges what it used since the last look to the
stack the main thread is in now. cProfile is no use here: every service runs its workers as greenlets on
the one main thread, and cProfile's call stack does not survive a greenlet switch; a sample of the main
thread's frame is whatever greenlet is running, and time spent blocked in the hub's poll costs no CPU so
is charged nothing. SIGUSR1 empties the counts (the bench sends it as its measured run begins), SIGUSR2
writes them to OUT.json as {stack: cpu seconds}, a stack being "file:function;..." from the outermost.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import signal
import sys
import threading
import time
from collections import Counter

SAMPLE_SECONDS = 0.002
SWITCH_SECONDS = 0.0005
_sleep = time.sleep  # taken before nameko's monkey-patching makes it a greenthread's
ROOT = os.getcwd() + os.sep


def _where(frame) -> str:
    path = frame.f_code.co_filename
    for tail in ("site-packages" + os.sep, f"python{sys.version_info[0]}.{sys.version_info[1]}" + os.sep):
        if tail in path:
            path = path.split(tail, 1)[1]
            break
    else:
        path = path.removeprefix(ROOT)
    return f"{path}:{frame.f_code.co_name}"


def _stack(frame) -> str:
    names = []
    while frame is not None:
        names.append(_where(frame))
        frame = frame.f_back
    return ";".join(reversed(names))


class Sampler:
    def __init__(self, out: str):
        self.out = out
        self.counts: Counter[str] = Counter()
        self.main = threading.main_thread().ident
        self.clock = time.pthread_getcpuclockid(self.main)
        self.reset = False

    def run(self) -> None:
        last = time.clock_gettime(self.clock)
        while True:
            _sleep(SAMPLE_SECONDS)
            now = time.clock_gettime(self.clock)
            frame = sys._current_frames().get(self.main)
            if self.reset:
                self.counts.clear()
                self.reset = False
            elif frame is not None and now > last:
                self.counts[_stack(frame)] += now - last
            last = now

    def write(self, *_signal) -> None:
        with open(self.out + ".tmp", "w") as out:
            json.dump(dict(self.counts), out)
        os.replace(self.out + ".tmp", self.out)

    def empty(self, *_signal) -> None:
        self.reset = True


def main(argv: list[str]) -> None:
    out, command = argv[0], argv[1:]
    sampler = Sampler(out)
    # The sampler runs only when the main thread lets go of the GIL: at the default 5 ms interval that is
    # mostly at its I/O calls, and every sample would land on one. At 0.5 ms a sample lands near where it woke.
    sys.setswitchinterval(SWITCH_SECONDS)
    signal.signal(signal.SIGUSR1, sampler.empty)
    signal.signal(signal.SIGUSR2, sampler.write)
    threading.Thread(target=sampler.run, name="bench-sampler", daemon=True).start()
    sys.argv = command
    runpy.run_path(shutil.which(command[0]), run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
