"""The bare-loop ceiling: the leanest honest way to keep N requests in flight.

The calling thread submits with ``session.execute_async(statement, params,
timeout=None)`` and registers two preallocated callbacks that only count the
completion and wake the caller if, and only if, it is blocked because the
window is full (or because it is draining at the end).  Nothing is kept: no
futures, no results.  One small lock guards the in-flight counter; a second
lock, created held, is the binary semaphore the caller sleeps on.
"""
from __future__ import annotations

from threading import Lock


def run(session, statement, params, concurrency, generator=False):
    """Execute ``statement`` once per item of ``params``; return (done, errors).

    ``generator`` is accepted for signature compatibility and ignored (there
    are no results to hand out).
    """
    if concurrency <= 0:
        raise ValueError("concurrency must be greater than 0")
    guard = Lock()
    wake = Lock()
    wake.acquire()
    inflight = 0
    waiting = False
    errors = 0

    def on_success(_result):
        nonlocal inflight, waiting
        with guard:
            inflight -= 1
            if waiting:
                waiting = False
                wake.release()

    def on_error(_exc):
        nonlocal inflight, waiting, errors
        with guard:
            errors += 1
            inflight -= 1
            if waiting:
                waiting = False
                wake.release()

    execute_async = session.execute_async
    acquire = guard.acquire
    release = guard.release
    sleep = wake.acquire
    done = 0
    for p in params:
        acquire()
        while inflight >= concurrency:
            waiting = True
            release()
            sleep()
            acquire()
        inflight += 1
        release()
        done += 1
        try:
            future = execute_async(statement, p, timeout=None)
        except Exception:
            with guard:
                inflight -= 1
                errors += 1
            continue
        future.add_callbacks(on_success, on_error)
    acquire()
    while inflight:
        waiting = True
        release()
        sleep()
        acquire()
    release()
    return done, errors
