"""Pure-Python executor: the twin of ``_concurrent_c``, same API and algorithm.

How it works (docs/design.md has the why and the numbers):

* Statements are submitted from the calling thread, never from the driver's
  I/O thread, which stays free to read and write sockets.
* Each in-flight or not-yet-collected statement owns a slot of a ring indexed
  by ``statement index % capacity``.  A slot is reused only once its result
  has been collected, so the ring bounds memory in generator mode.
* The driver's callbacks only park the outcome in the slot, count it and wake
  the caller if it waits.  The caller builds ``ResultSet`` and
  ``ExecutionResult`` objects, so the I/O thread does O(1) work per request
  and never recurses into the executor.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from typing import Any

from concurrent_ext._common import (
    EXEC_PROFILE_DEFAULT,
    ExecutionResult,
    ResultSet,
    check_concurrency,
    iterate_input,
    run_in_thread,
    with_args,
)

__all__ = [
    "ExecutionResult",
    "execute_concurrent",
    "execute_concurrent_async",
    "execute_concurrent_with_args",
]

_FREE, _PENDING, _DONE = 0, 1, 2


class _Slot:
    """One statement's place in the ring; its callbacks are bound once, at creation."""

    __slots__ = (
        "executor",
        "future",
        "index",
        "next_done",
        "ok",
        "on_error",
        "on_success",
        "outcome",
        "state",
    )

    def __init__(self, executor: _Executor) -> None:
        self.executor = executor
        self.index = -1
        self.state = _FREE
        self.ok = False
        self.outcome: Any = None
        self.future: Any = None
        self.next_done: _Slot | None = None
        self.on_success = self._success
        self.on_error = self._error

    def _success(self, rows: Any) -> None:
        self.executor._complete(self, True, rows)

    def _error(self, exc: BaseException) -> None:
        self.executor._complete(self, False, exc)


class _Executor:
    def __init__(self, session: Any, source: Iterator[Any], concurrency: int, fail_fast: bool,
                 ordered: bool, execution_profile: Any, timeout: Any) -> None:
        self._execute_async = session.execute_async
        self._source = source
        self._concurrency = concurrency
        # Generator mode: at most `concurrency` in flight plus `concurrency`
        # done but unconsumed.  List mode collects out of order, so the extra
        # room only lets a straggler lag behind before submission waits for it.
        self._capacity = concurrency * (2 if ordered else 4)
        self._fail_fast = fail_fast
        self._ordered = ordered
        self._profile = execution_profile
        self._timeout = timeout
        self._slots: list[_Slot] = []
        self._next_index = 0
        self._exhausted = False
        self._in_flight = 0
        self._first_error: BaseException | None = None
        self._done_stack: _Slot | None = None  # list mode: completed, not yet collected
        self._results: list[Any] = []
        self._waiting = False
        self._lock = threading.Lock()
        self._wakeup = threading.Lock()  # held while nobody waits; released to wake the caller
        self._wakeup.acquire()

    # -- any thread ---------------------------------------------------------
    def _complete(self, slot: _Slot, ok: bool, outcome: Any) -> None:
        with self._lock:
            if slot.state != _PENDING:  # a second completion of one future is ignored
                return
            slot.ok = ok
            slot.outcome = outcome
            slot.state = _DONE
            self._in_flight -= 1
            if not ok and self._first_error is None:
                self._first_error = outcome
            if not self._ordered:
                slot.next_done = self._done_stack
                self._done_stack = slot
            if self._waiting:
                self._waiting = False
                self._wakeup.release()

    def stop(self) -> None:
        """Send no further statement (a cancelled async call)."""
        with self._lock:
            self._exhausted = True

    # -- the calling thread -------------------------------------------------
    def _free_slot(self, index: int) -> _Slot | None:
        position = index % self._capacity
        if position == len(self._slots):  # first lap: the ring grows as it is used
            slot = _Slot(self)
            self._slots.append(slot)
            return slot
        slot = self._slots[position]
        return slot if slot.state == _FREE else None

    def _submit_available(self) -> None:
        while self._in_flight < self._concurrency and not self._exhausted:
            if self._fail_fast and self._first_error is not None:
                return
            index = self._next_index
            slot = self._free_slot(index)
            if slot is None:
                return
            try:
                item = next(self._source)
            except StopIteration:
                self._exhausted = True
                return
            except Exception as exc:  # noqa: BLE001 - the input failed: it ends here
                self._exhausted = True
                self._start(slot, index)
                self._complete(slot, False, exc)
                return
            self._start(slot, index)
            try:
                statement, parameters = item
                future = self._execute_async(statement, parameters, timeout=self._timeout,
                                             execution_profile=self._profile)
                slot.future = future
                future.add_callbacks(slot.on_success, slot.on_error)
            except Exception as exc:  # noqa: BLE001 - becomes this statement's result
                self._complete(slot, False, exc)

    def _start(self, slot: _Slot, index: int) -> None:
        slot.index = index
        self._next_index = index + 1
        if not self._ordered:
            self._results.append(None)
        with self._lock:
            slot.state = _PENDING
            self._in_flight += 1

    def _wait(self, slot: _Slot | None) -> None:
        """Block until ``slot`` (generator mode) or any statement (list mode) completes."""
        with self._lock:
            ready = slot.state == _DONE if slot is not None else self._done_stack is not None
            if ready or self._in_flight == 0:
                return
            self._waiting = True
        self._wakeup.acquire()

    def _collect(self, slot: _Slot) -> ExecutionResult:
        future, outcome, ok = slot.future, slot.outcome, slot.ok
        slot.future = slot.outcome = None
        slot.state = _FREE
        if future is not None:
            # Paging re-fires registered callbacks: drop ours before the
            # ResultSet can fetch another page.
            future.clear_callbacks()
        if ok:
            # ResultSet turns None (a VOID result) into [] by catching
            # iter(None)'s TypeError; passing [] gives the same ResultSet
            # at half the cost.
            return ExecutionResult(True, ResultSet(future, [] if outcome is None else outcome))
        return ExecutionResult(False, outcome)

    def run_list(self) -> list[ExecutionResult]:
        results = self._results
        while True:
            with self._lock:
                slot, self._done_stack = self._done_stack, None
            while slot is not None:
                following, slot.next_done = slot.next_done, None
                results[slot.index] = self._collect(slot)
                slot = following
            if self._fail_fast and self._first_error is not None:
                raise self._first_error
            self._submit_available()
            if self._exhausted and self._in_flight == 0 and self._done_stack is None:
                return results
            self._wait(None)

    def run_generator(self) -> Iterator[ExecutionResult]:
        head = 0
        while True:
            self._submit_available()
            if head == self._next_index:
                return
            slot = self._slots[head % self._capacity]
            if slot.state != _DONE:
                self._wait(slot)
                continue
            head += 1
            result = self._collect(slot)
            if self._fail_fast and not result.success:
                raise result.result_or_exc
            yield result


def execute_concurrent(
    session: Any,
    statements_and_parameters: Iterable[Any],
    concurrency: int = 100,
    raise_on_first_error: bool = True,
    results_generator: bool = False,
    execution_profile: Any = EXEC_PROFILE_DEFAULT,
    *,
    timeout: float | None = None,
) -> list[ExecutionResult] | Iterator[ExecutionResult]:
    """Execute many statements with at most ``concurrency`` in flight.

    Same contract as ``cassandra.concurrent.execute_concurrent``; ``timeout``
    (seconds, keyword only) is passed to ``session.execute_async``: the
    default ``None`` waits forever, as upstream does.
    """
    concurrency = check_concurrency(concurrency)
    source = iterate_input(statements_and_parameters)
    if not statements_and_parameters:
        return []
    executor = _Executor(session, source, concurrency, bool(raise_on_first_error),
                         bool(results_generator), execution_profile, timeout)
    if results_generator:
        return executor.run_generator()
    return executor.run_list()


def execute_concurrent_with_args(session: Any, statement: Any, parameters: Iterable[Any],
                                 *args: Any, **kwargs: Any) -> Any:
    """``execute_concurrent`` of ``statement`` with each item of ``parameters``."""
    return execute_concurrent(session, with_args(statement, parameters), *args, **kwargs)


def execute_concurrent_async(
    session: Any,
    statements_and_parameters: Iterable[Any],
    concurrency: int = 100,
    raise_on_first_error: bool = False,
    execution_profile: Any = EXEC_PROFILE_DEFAULT,
    *,
    timeout: float | None = None,
) -> Future[list[ExecutionResult]]:
    """Start ``execute_concurrent`` in list mode and return a Future at once.

    Statements are submitted from a dedicated daemon thread.  Cancelling the
    Future stops submission.  Await it from asyncio with ``asyncio.wrap_future``.
    """
    concurrency = check_concurrency(concurrency)
    source = iterate_input(statements_and_parameters)
    future: Future[list[ExecutionResult]] = Future()
    if not statements_and_parameters:
        future.set_result([])
        return future
    executor = _Executor(session, source, concurrency, bool(raise_on_first_error), False,
                         execution_profile, timeout)
    run_in_thread(future, executor.run_list, executor.stop)
    return future

