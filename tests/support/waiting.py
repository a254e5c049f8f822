"""Bounded waits for asynchronous effects (never timed assertions: the bound only stops a hung test)."""

import time

import eventlet


def wait_for(predicate, timeout: float = 15, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        eventlet.sleep(interval)
