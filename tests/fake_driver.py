"""A fake session whose futures behave like the driver's ``ResponseFuture``.

Used by the unit tests of the executors' own logic (the integration tests
use the real driver over TCP) and, in ``fast`` mode, by the executor
micro-benchmark (``bench/fake_session.py`` loads this file by path, because
ci/test copies tests/ alone).  The future follows the driver's callback
contract: ``add_callbacks`` always registers and fires inline when already
done; completion snapshots the callbacks under a lock and calls them outside
it; ``clear_callbacks`` forgets them; ``refire`` replays a completion as a
page fetch would.

Completion modes:
  inline   done before ``add_callbacks`` (the driver's synchronous paths)
  thread   a completer thread completes in submission order
  reverse  a completer thread completes each batch of ``batch`` in reverse
  random   a completer thread completes in a seeded random order
  manual   the test calls ``session.complete_pending()``
  fast     a completer thread completes whatever is queued, and nothing is
           recorded (calls, futures, in-flight, stack depth): every
           statement succeeds with no rows, at the least cost per statement

``fire_twice`` makes the completer deliver every completion twice.
"""
from __future__ import annotations

import random
import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

NOT_SET = object()


class FakeFuture:
    # what cassandra.cluster.ResultSet(future, rows) reads
    _col_names = None
    _col_types = None
    _paging_state = None
    has_more_pages = False
    _continuous_paging_session = None
    warnings = None
    custom_payload = None

    def __init__(self, outcome_ok: bool, value: Any) -> None:
        self.ok = outcome_ok
        self.value = value
        self.done = False
        self._lock = threading.Lock()
        self._callbacks: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []
        self._errbacks: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []
        self.clear_calls = 0

    def add_callbacks(self, callback, errback, callback_args=(), callback_kwargs=None,
                      errback_args=(), errback_kwargs=None):
        self._register(self._callbacks, True, callback, callback_args, callback_kwargs or {})
        self._register(self._errbacks, False, errback, errback_args, errback_kwargs or {})

    def _register(self, into, for_success, fn, args, kwargs):
        with self._lock:
            into.append((fn, args, kwargs))
            run_now = self.done and self.ok == for_success
        if run_now:
            fn(self.value, *args, **kwargs)

    def clear_callbacks(self) -> None:
        with self._lock:
            self._callbacks = []
            self._errbacks = []
            self.clear_calls += 1

    def complete(self) -> None:
        with self._lock:
            self.done = True
            to_call = list(self._callbacks if self.ok else self._errbacks)
        for fn, args, kwargs in to_call:
            fn(self.value, *args, **kwargs)

    refire = complete


class FakeSession:
    """``outcome(statement, params)`` returns ``("ok", rows)``, ``("error",
    exc)`` for an errback, or ``("raise", exc)`` to raise from execute_async."""

    def __init__(self, mode: str = "thread", outcome: Callable[[Any, Any], tuple[str, Any]] | None = None,
                 batch: int = 10, seed: int = 0, fire_twice: bool = False) -> None:
        if mode == "fast" and (outcome is not None or fire_twice):
            raise ValueError("fast mode records nothing and always succeeds: no outcome, no fire_twice")
        self.mode = mode
        self.fire_twice = fire_twice
        self.outcome = outcome or (lambda statement, params: ("ok", [params]))
        self.batch = batch
        self.calls: list[tuple[Any, Any, Any, Any]] = []
        self.futures: list[FakeFuture] = []
        self.completed = 0
        self.max_in_flight = 0
        self.max_stack_depth = 0
        self._pending: list[FakeFuture] = []
        self._cond = threading.Condition()
        self._random = random.Random(seed)
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._queue: deque[FakeFuture] = deque()
        self._wake = threading.Event()
        self._idle = False
        if mode == "fast":
            self._thread = threading.Thread(target=self._complete_fast_forever, daemon=True)
            self._thread.start()
        elif mode in ("thread", "reverse", "random"):
            self._thread = threading.Thread(target=self._complete_forever, daemon=True)
            self._thread.start()

    def execute_async(self, statement, parameters=None, timeout=NOT_SET, execution_profile=NOT_SET):
        if self.mode == "fast":
            return self._execute_async_fast()
        self.max_stack_depth = max(self.max_stack_depth, _stack_depth())
        self.calls.append((statement, parameters, timeout, execution_profile))
        kind, value = self.outcome(statement, parameters)
        if kind == "raise":
            raise value
        future = FakeFuture(kind == "ok", value)
        self.futures.append(future)
        with self._cond:
            self.max_in_flight = max(self.max_in_flight, len(self.calls) - self.completed)
            if self.mode == "inline":
                future.done = True
                self.completed += 1
            else:
                self._pending.append(future)
                self._cond.notify()
        return future

    def _execute_async_fast(self) -> FakeFuture:
        future = FakeFuture(True, None)  # None: what an INSERT hands the callbacks
        self._queue.append(future)  # deque.append and popleft are atomic: no lock
        if self._idle:  # wake the completer only when it sleeps (Event.set costs a lock)
            self._idle = False
            self._wake.set()
        return future

    def _complete_fast_forever(self) -> None:
        queue, wake = self._queue, self._wake
        while not self._stopped:
            while queue:
                queue.popleft().complete()
            # Announce the sleep, then look again: an append that missed the
            # flag is seen here, one that saw it sets the event.
            self._idle = True
            if queue or self._stopped:
                self._idle = False
                continue
            wake.wait()
            wake.clear()

    @property
    def submitted(self) -> int:
        return len(self.calls)

    def complete_pending(self) -> int:
        """Complete what is pending now (manual mode); returns how many."""
        with self._cond:
            batch, self._pending = self._pending, []
            self.completed += len(batch)
        for future in batch:
            future.complete()
        return len(batch)

    def _complete_forever(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                take = len(self._pending) if self.mode == "thread" else min(self.batch, len(self._pending))
                batch, self._pending = self._pending[:take], self._pending[take:]
            if self.mode == "reverse":
                batch.reverse()
            elif self.mode == "random":
                self._random.shuffle(batch)
            for future in batch:
                with self._cond:
                    self.completed += 1
                future.complete()
                if self.fire_twice:  # a misbehaving future: must be ignored
                    future.complete()

    def close(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)


def _stack_depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth
