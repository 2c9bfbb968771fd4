"""Fake session and futures for measuring executor overhead without a server.

``FakeSession.execute_async`` returns a ``FakeFuture`` and queues it on a
``Completer`` thread, which completes queued futures in batches, as fast as it
can, calling callbacks the way ``cassandra.cluster.ResponseFuture`` does:
``callback(result, *callback_args, **callback_kwargs)`` after the result is
stored under the future's lock; a callback added to an already completed
future runs inline on the adding thread.  The future carries the attributes
``cassandra.cluster.ResultSet(future, rows)`` reads.
"""
from __future__ import annotations

from collections import deque
from concurrent.futures import Future
from threading import Event, Lock, Thread

_NOT_SET = object()


class FakeFuture:
    """The parts of ResponseFuture that executors and ResultSet touch."""

    # read by ResultSet and by callers that inspect results
    _col_names = None
    _col_types = None
    _paging_state = None
    _continuous_paging_session = None
    has_more_pages = False
    warnings = None
    custom_payload = None

    __slots__ = ("_lock", "_callbacks", "_errbacks", "_result", "_exc", "__weakref__")

    def __init__(self):
        self._lock = Lock()
        self._callbacks = []
        self._errbacks = []
        self._result = _NOT_SET
        self._exc = None

    def add_callbacks(self, callback, errback, callback_args=(), callback_kwargs=None,
                      errback_args=(), errback_kwargs=None):
        with self._lock:
            self._callbacks.append((callback, callback_args, callback_kwargs or {}))
            self._errbacks.append((errback, errback_args, errback_kwargs or {}))
            result, exc = self._result, self._exc
        if exc is not None:
            errback(exc, *errback_args, **(errback_kwargs or {}))
        elif result is not _NOT_SET:
            callback(result, *callback_args, **(callback_kwargs or {}))

    def add_callback(self, fn, *args, **kwargs):
        self.add_callbacks(fn, _ignore, callback_args=args, callback_kwargs=kwargs)
        return self

    def add_errback(self, fn, *args, **kwargs):
        self.add_callbacks(_ignore, fn, errback_args=args, errback_kwargs=kwargs)
        return self

    def clear_callbacks(self):
        with self._lock:
            self._callbacks = []
            self._errbacks = []

    def result(self):
        if self._exc is not None:
            raise self._exc
        if self._result is _NOT_SET:
            raise RuntimeError("FakeFuture.result() before completion")
        return self._result

    def _complete(self, result, exc=None):
        with self._lock:
            if exc is not None:
                self._exc = exc
                todo = list(self._errbacks)
            else:
                self._result = result
                todo = list(self._callbacks)
        value = exc if exc is not None else result
        for fn, args, kwargs in todo:
            fn(value, *args, **kwargs)


def _ignore(*_args, **_kwargs):
    pass


class Completer:
    """A thread completing queued FakeFutures in batches (a very fast server).

    ``result`` is what each future completes with (``None`` is what an
    INSERT gives the callbacks).  Use as a context manager.
    """

    def __init__(self, result=None):
        self._result = result
        self._pending = deque()
        self._wake = Event()
        self._idle = False
        self._stopping = False
        self._thread = Thread(target=self._run, name="fake-completer", daemon=True)

    def submit(self, item):
        self._pending.append(item)
        if self._idle:
            self._idle = False
            self._wake.set()

    def _run(self):
        pending = self._pending
        popleft = pending.popleft
        result = self._result
        wake = self._wake
        while True:
            while pending:
                item = popleft()
                if type(item) is FakeFuture:
                    item._complete(result)
                else:  # a callable from FakeSession.submit
                    item()
            if self._stopping:
                return
            self._idle = True
            if pending:
                self._idle = False
                continue
            wake.wait()
            wake.clear()

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stopping = True
        self._idle = False
        self._wake.set()
        self._thread.join(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class FakeSession:
    """Enough of cassandra.cluster.Session for the executors."""

    def __init__(self, completer: Completer):
        self._completer = completer

    def execute_async(self, query, parameters=None, trace=False, custom_payload=None,
                      timeout=_NOT_SET, execution_profile=None, paging_state=None,
                      host=None, execute_as=None):
        future = FakeFuture()
        self._completer.submit(future)
        return future

    def submit(self, fn, *args, **kwargs):
        """Like Session.submit (a thread pool): runs ``fn`` on the completer."""
        done = Future()

        def call():
            try:
                done.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to the Future
                done.set_exception(exc)

        self._completer.submit(call)
        return done
