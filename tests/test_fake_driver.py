"""The fake session's fast mode, which the executor micro-benchmark uses.

It keeps no bookkeeping, so the benchmark measures the executors, not the
fake; these tests make sure it still behaves like the driver's futures.
"""
from __future__ import annotations

import threading

import pytest
from fake_driver import FakeSession


@pytest.mark.parametrize("generator", [False, True], ids=["list", "generator"])
def test_fast_mode_completes_every_statement_once(any_impl, generator):
    session = FakeSession("fast")
    try:
        out = any_impl.module.execute_concurrent_with_args(
            session, "stmt", [(i,) for i in range(5000)], concurrency=7, results_generator=generator)
        results = list(out)
    finally:
        session.close()
    assert len(results) == 5000
    assert all(r.success and r.result_or_exc.current_rows == [] for r in results)


def test_fast_mode_keeps_no_bookkeeping():
    session = FakeSession("fast")
    try:
        done = threading.Event()
        future = session.execute_async("stmt", (1,))
        future.add_callbacks(lambda rows: done.set(), lambda exc: None)
        assert done.wait(30)
    finally:
        session.close()
    assert (session.calls, session.futures, session.submitted) == ([], [], 0)


def test_fast_mode_refuses_an_outcome():
    with pytest.raises(ValueError, match="fast"):
        FakeSession("fast", outcome=lambda statement, params: ("ok", []))


def test_close_stops_the_completer_thread():
    session = FakeSession("fast")
    thread = session._thread
    assert thread is not None and thread.is_alive()
    session.close()
    assert not thread.is_alive()


def test_fast_mode_can_be_subclassed(impl):
    """A benchmark may wrap execute_async (to time submissions) and keep fast mode."""

    class Counting(FakeSession):
        sent = 0

        def execute_async(self, *args, **kwargs):
            self.sent += 1
            return super().execute_async(*args, **kwargs)

    session = Counting("fast")
    try:
        results = impl.module.execute_concurrent_with_args(session, "stmt", [(i,) for i in range(300)], concurrency=9)
    finally:
        session.close()
    assert session.sent == len(results) == 300
