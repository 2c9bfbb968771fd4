# cython: language_level=3, boundscheck=False, wraparound=False
"""Compiled executor: the twin of ``_concurrent_py``, same API and algorithm.

What differs from the pure twin is how the threads agree (docs/design.md):
the completion path is C code that never releases the GIL, so the GIL alone
makes each state change atomic (this module does not declare itself
free-threading compatible, so a free-threaded CPython keeps the GIL enabled
while it is loaded).  The caller sleeps on a bare ``PyThread`` lock that a
completion releases only when the caller said it waits; no Python-level lock
or Condition is touched per statement.
"""
cimport cython
from cpython.exc cimport PyErr_CheckSignals
from cpython.pythread cimport (
    PY_LOCK_INTR,
    PyLockStatus,
    PyThread_acquire_lock,
    PyThread_allocate_lock,
    PyThread_free_lock,
    PyThread_release_lock,
    PyThread_type_lock,
)


cdef extern from "pythread.h":
    # Not in Cython's pythread.pxd; timeout -1 waits forever, intr_flag 1
    # returns PY_LOCK_INTR when a signal arrives so Ctrl-C is not swallowed.
    PyLockStatus PyThread_acquire_lock_timed(
        PyThread_type_lock lock, long long microseconds, int intr_flag) nogil

from concurrent.futures import Future

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

cdef enum:
    FREE
    PENDING
    DONE

cdef object _END = object()  # next(source, _END): exhaustion without raising StopIteration


@cython.final
cdef class _Slot:
    """One statement's place in the ring.  The slot itself is the success
    callback and ``on_error`` the errback: both are made once per slot, so a
    request costs no bound method or argument tuple of ours."""
    cdef _Executor executor
    cdef Py_ssize_t index
    cdef int state
    cdef bint ok
    cdef object outcome
    cdef object future
    cdef _Slot next_done
    cdef _Errback on_error

    def __call__(self, rows):
        self.executor._complete(self, True, rows)


@cython.final
cdef class _Errback:
    cdef _Slot slot

    def __call__(self, exc):
        self.slot.executor._complete(self.slot, False, exc)


@cython.final
cdef class _Executor:
    cdef object execute_async
    cdef object source
    cdef object profile
    cdef object timeout
    cdef Py_ssize_t concurrency
    cdef Py_ssize_t capacity
    cdef Py_ssize_t next_index
    cdef Py_ssize_t in_flight
    cdef bint fail_fast
    cdef bint ordered
    cdef bint exhausted
    cdef bint waiting
    cdef object first_error
    cdef _Slot done_stack  # list mode: completed, not yet collected
    cdef list slots
    cdef list results
    cdef PyThread_type_lock wakeup  # held while nobody waits; released to wake the caller

    def __cinit__(self):
        self.wakeup = PyThread_allocate_lock()
        if self.wakeup == NULL:
            raise MemoryError("cannot allocate a lock")
        PyThread_acquire_lock(self.wakeup, 1)

    def __dealloc__(self):
        if self.wakeup != NULL:
            PyThread_free_lock(self.wakeup)

    def __init__(self, session, source, Py_ssize_t concurrency, bint fail_fast, bint ordered,
                 execution_profile, timeout):
        self.execute_async = session.execute_async
        self.source = source
        self.concurrency = concurrency
        # Generator mode: at most `concurrency` in flight plus `concurrency`
        # done but unconsumed.  List mode collects out of order, so the extra
        # room only lets a straggler lag behind before submission waits for it.
        self.capacity = concurrency * (2 if ordered else 4)
        self.fail_fast = fail_fast
        self.ordered = ordered
        self.profile = execution_profile
        self.timeout = timeout
        self.slots = []
        self.results = []

    # -- any thread, GIL held, no Python code: atomic -----------------------
    cdef inline void _complete(self, _Slot slot, bint ok, object outcome) noexcept:
        if slot.state != PENDING:  # a second completion of one future is ignored
            return
        slot.ok = ok
        slot.outcome = outcome
        slot.state = DONE
        self.in_flight -= 1
        if not ok and self.first_error is None:
            self.first_error = outcome
        if not self.ordered:
            slot.next_done = self.done_stack
            self.done_stack = slot
        if self.waiting:
            self.waiting = False
            PyThread_release_lock(self.wakeup)

    def stop(self):
        """Send no further statement (a cancelled async call)."""
        self.exhausted = True

    # -- the calling thread -------------------------------------------------
    cdef _Slot _free_slot(self, Py_ssize_t index):
        cdef Py_ssize_t position = index % self.capacity
        cdef _Slot slot
        if position == len(self.slots):  # first lap: the ring grows as it is used
            slot = _Slot.__new__(_Slot)
            slot.executor = self
            slot.on_error = _Errback.__new__(_Errback)
            slot.on_error.slot = slot
            self.slots.append(slot)
            return slot
        slot = <_Slot>self.slots[position]
        return slot if slot.state == FREE else None

    cdef inline int _start(self, _Slot slot, Py_ssize_t index) except -1:
        if not self.ordered:
            self.results.append(None)
        slot.index = index
        slot.state = PENDING
        self.next_index = index + 1
        self.in_flight += 1
        return 0

    cdef int _submit_available(self) except -1:
        cdef _Slot slot
        cdef Py_ssize_t index
        while self.in_flight < self.concurrency and not self.exhausted:
            if self.fail_fast and self.first_error is not None:
                return 0
            index = self.next_index
            slot = self._free_slot(index)
            if slot is None:
                return 0
            try:
                item = next(self.source, _END)
            except Exception as exc:  # the input itself failed: it ends here
                self.exhausted = True
                self._start(slot, index)
                self._complete(slot, False, exc)
                return 0
            if item is _END:
                self.exhausted = True
                return 0
            self._start(slot, index)
            try:
                statement, parameters = item
                future = self.execute_async(statement, parameters, timeout=self.timeout,
                                            execution_profile=self.profile)
                slot.future = future
                future.add_callbacks(slot, slot.on_error)
            except Exception as exc:
                self._complete(slot, False, exc)
        return 0

    cdef int _wait(self, _Slot slot) except -1:
        """Block until ``slot`` (generator mode) or any statement (list mode) completes."""
        cdef PyLockStatus status
        cdef bint ready = slot.state == DONE if slot is not None else self.done_stack is not None
        if ready or self.in_flight == 0:
            return 0
        self.waiting = True
        with nogil:
            status = PyThread_acquire_lock_timed(self.wakeup, -1, 1)
        if status == PY_LOCK_INTR:  # a signal: let its handler run (Ctrl-C), then re-check
            self.waiting = False
            PyErr_CheckSignals()
        return 0

    cdef object _collect(self, _Slot slot):
        future = slot.future
        outcome = slot.outcome
        slot.future = None
        slot.outcome = None
        slot.state = FREE
        if future is not None:
            # Paging re-fires registered callbacks: drop ours before the
            # ResultSet can fetch another page.
            future.clear_callbacks()
        if slot.ok:
            # ResultSet turns None (a VOID result) into [] by catching
            # iter(None)'s TypeError; passing [] gives the same ResultSet
            # at half the cost.
            return ExecutionResult(True, ResultSet(future, [] if outcome is None else outcome))
        return ExecutionResult(False, outcome)

    def run_list(self):
        cdef list results = self.results
        cdef _Slot slot, following
        while True:
            slot = self.done_stack
            self.done_stack = None
            while slot is not None:
                following = slot.next_done
                slot.next_done = None
                results[slot.index] = self._collect(slot)
                slot = following
            if self.fail_fast and self.first_error is not None:
                raise self.first_error
            self._submit_available()
            if self.exhausted and self.in_flight == 0 and self.done_stack is None:
                return results
            self._wait(None)


def _generate(_Executor executor):
    cdef Py_ssize_t head = 0
    cdef _Slot slot
    while True:
        executor._submit_available()
        if head == executor.next_index:
            return
        slot = <_Slot>executor.slots[head % executor.capacity]
        if slot.state != DONE:
            executor._wait(slot)
            continue
        head += 1
        result = executor._collect(slot)
        if executor.fail_fast and not slot.ok:
            raise result.result_or_exc
        yield result


def execute_concurrent(session, statements_and_parameters, concurrency=100,
                       raise_on_first_error=True, results_generator=False,
                       execution_profile=EXEC_PROFILE_DEFAULT, *, timeout=None):
    """Execute many statements with at most ``concurrency`` in flight.

    Same contract as ``cassandra.concurrent.execute_concurrent``; ``timeout``
    (seconds, keyword only) is passed to ``session.execute_async``: the
    default ``None`` waits forever, as upstream does.
    """
    cdef Py_ssize_t limit = check_concurrency(concurrency)
    source = iterate_input(statements_and_parameters)
    if not statements_and_parameters:
        return []
    executor = _Executor(session, source, limit, bool(raise_on_first_error),
                         bool(results_generator), execution_profile, timeout)
    if results_generator:
        return _generate(executor)
    return executor.run_list()


def execute_concurrent_with_args(session, statement, parameters, *args, **kwargs):
    """``execute_concurrent`` of ``statement`` with each item of ``parameters``."""
    return execute_concurrent(session, with_args(statement, parameters), *args, **kwargs)


def execute_concurrent_async(session, statements_and_parameters, concurrency=100,
                             raise_on_first_error=False, execution_profile=EXEC_PROFILE_DEFAULT,
                             *, timeout=None):
    """Start ``execute_concurrent`` in list mode and return a Future at once.

    Statements are submitted from a dedicated daemon thread.  Cancelling the
    Future stops submission.  Await it from asyncio with ``asyncio.wrap_future``.
    """
    cdef Py_ssize_t limit = check_concurrency(concurrency)
    source = iterate_input(statements_and_parameters)
    future = Future()
    if not statements_and_parameters:
        future.set_result([])
        return future
    executor = _Executor(session, source, limit, bool(raise_on_first_error), False,
                         execution_profile, timeout)
    run_in_thread(future, executor.run_list, executor.stop)
    return future
