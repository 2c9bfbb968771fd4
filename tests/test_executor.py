"""Behaviour of the executors against a fake session (see fake_driver.py).

``impl`` runs a test on our compiled module and on our pure module;
``any_impl`` adds the driver's ``cassandra.concurrent`` where upstream has
the same semantics.
"""
from __future__ import annotations

import asyncio
import gc
import itertools
import threading
import time

import cassandra.concurrent
import pytest
from cassandra.cluster import EXEC_PROFILE_DEFAULT, ResultSet
from fake_driver import FakeSession

pytestmark = pytest.mark.timeout(60)

MODES = ["inline", "thread", "reverse", "random"]


def rows_of(results):
    return [r.result_or_exc.current_rows if r.success else r.result_or_exc for r in results]


def run(impl, session, items, *args, generator=False, **kwargs):
    out = impl.module.execute_concurrent(session, items, *args, results_generator=generator, **kwargs)
    return list(out) if generator else out


@pytest.fixture
def make_session():
    sessions = []

    def make(*args, **kwargs):
        session = FakeSession(*args, **kwargs)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()


def failing_every(n, make_exc=lambda i: RuntimeError(f"failed {i}")):
    errors = {}

    def outcome(statement, params):
        if params % n == n - 1:
            return "error", errors.setdefault(params, make_exc(params))
        return "ok", [params]

    return outcome, errors


# -- results: order, types, failures ------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("generator", [False, True], ids=["list", "gen"])
@pytest.mark.parametrize("concurrency", [1, 3, 100])
def test_results_in_input_order(any_impl, make_session, mode, generator, concurrency):
    session = make_session(mode, batch=7, seed=concurrency)
    results = run(any_impl, session, [("q", i) for i in range(500)], concurrency, generator=generator)
    assert len(results) == 500
    assert all(type(r) is cassandra.concurrent.ExecutionResult for r in results)
    assert all(r.success and isinstance(r.result_or_exc, ResultSet) for r in results)
    assert rows_of(results) == [[i] for i in range(500)]
    assert all(r.result_or_exc.response_future is f for r, f in zip(results, session.futures))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("generator", [False, True], ids=["list", "gen"])
def test_failures_carry_the_exception_object(any_impl, make_session, mode, generator):
    outcome, errors = failing_every(10)
    session = make_session(mode, outcome=outcome)
    results = run(any_impl, session, [("q", i) for i in range(200)], 20, False, generator=generator)
    assert [r.success for r in results] == [i % 10 != 9 for i in range(200)]
    for i, r in enumerate(results):
        if not r.success:
            assert r.result_or_exc is errors[i]


@pytest.mark.parametrize("generator", [False, True], ids=["list", "gen"])
def test_execute_async_raising_becomes_that_items_result(any_impl, make_session, generator):
    bad = TypeError("bad params")
    session = make_session("thread", outcome=lambda s, p: ("raise", bad) if p == 3 else ("ok", [p]))
    results = run(any_impl, session, [("q", i) for i in range(10)], 4, False, generator=generator)
    assert [r.success for r in results] == [i != 3 for i in range(10)]
    assert results[3].result_or_exc is bad


@pytest.mark.parametrize("mode", ["inline", "thread"])
@pytest.mark.parametrize("generator", [False, True], ids=["list", "gen"])
def test_raise_on_first_error_reraises_that_object(any_impl, make_session, mode, generator):
    outcome, errors = failing_every(50)
    session = make_session(mode, outcome=outcome)
    with pytest.raises(RuntimeError) as info:
        run(any_impl, session, [("q", i) for i in range(200)], 5, generator=generator)
    assert info.value is errors[49]


def test_result_set_is_the_drivers_and_rows_are_kept(impl, make_session):
    session = make_session("inline", outcome=lambda s, p: ("ok", None))
    (result,) = impl.module.execute_concurrent(session, [("INSERT", ())])
    assert type(result.result_or_exc) is ResultSet
    assert not result.result_or_exc and result.result_or_exc == []


# -- arguments ----------------------------------------------------------------

@pytest.mark.parametrize("bad", [0, -1])
def test_concurrency_must_be_positive_before_the_empty_check(any_impl, make_session, bad):
    with pytest.raises(ValueError, match="concurrency must be greater than 0"):
        any_impl.module.execute_concurrent(make_session("inline"), [], bad)


@pytest.mark.parametrize("concurrency", [2**31, 2**62, 2**70])
@pytest.mark.parametrize("generator", [False, True], ids=["list", "gen"])
def test_huge_concurrency_is_just_unbounded(impl, make_session, concurrency, generator):
    results = run(impl, make_session("thread"), [("q", i) for i in range(50)], concurrency, generator=generator)
    assert rows_of(results) == [[i] for i in range(50)]


@pytest.mark.parametrize("bad", [None, 2.5, "10"])
@pytest.mark.parametrize("items", [[], [("q", 1)]], ids=["empty", "one"])
def test_concurrency_must_be_an_integer(impl, make_session, bad, items):
    with pytest.raises(TypeError, match="concurrency must be an integer"):
        impl.module.execute_concurrent(make_session("inline"), items, bad)


@pytest.mark.parametrize("bad", [None, 5, object()])
def test_non_iterable_input_is_a_type_error_naming_it(impl, make_session, bad):
    with pytest.raises(TypeError, match="statements_and_parameters must be an iterable"):
        impl.module.execute_concurrent(make_session("inline"), bad)
    with pytest.raises(TypeError, match="statements_and_parameters must be an iterable"):
        impl.module.execute_concurrent_async(make_session("inline"), bad)
    with pytest.raises(TypeError, match="parameters must be an iterable"):
        impl.module.execute_concurrent_with_args(make_session("inline"), "q", bad)


@pytest.mark.parametrize("empty", [[], ()])
@pytest.mark.parametrize("generator", [False, True])
def test_falsy_input_returns_a_list(any_impl, make_session, empty, generator):
    session = make_session("inline")
    assert any_impl.module.execute_concurrent(session, empty, results_generator=generator) == []
    assert session.submitted == 0


@pytest.mark.parametrize("generator", [False, True], ids=["list", "gen"])
def test_empty_iterator(any_impl, make_session, generator):
    results = run(any_impl, make_session("inline"), iter([]), generator=generator)
    assert results == []


def test_profile_passed_by_identity_and_timeout_defaults_to_none(any_impl, make_session):
    session = make_session("inline")
    profile = object()
    any_impl.module.execute_concurrent(session, [("a", (1,)), ("b", None)], execution_profile=profile)
    assert [(c[0], c[1]) for c in session.calls] == [("a", (1,)), ("b", None)]
    assert all(c[2] is None and c[3] is profile for c in session.calls)
    session = make_session("inline")
    any_impl.module.execute_concurrent(session, [("a", ())])
    assert session.calls[0][3] is EXEC_PROFILE_DEFAULT


@pytest.mark.parametrize("generator", [False, True], ids=["list", "gen"])
def test_timeout_is_passed_to_execute_async(impl, make_session, generator):
    session = make_session("thread")
    run(impl, session, [("q", 1), ("q", 2)], timeout=2.5, generator=generator)
    assert [c[2] for c in session.calls] == [2.5, 2.5]


def test_extra_arguments_are_keyword_only(impl, make_session):
    with pytest.raises(TypeError):
        impl.module.execute_concurrent(make_session("inline"), [("q", 1)], 1, True, False,
                                       EXEC_PROFILE_DEFAULT, 3.0)


def test_with_args_forwards_positional_arguments(any_impl, make_session):
    session = make_session("thread")
    results = any_impl.module.execute_concurrent_with_args(session, "stmt", [(i,) for i in range(300)], 7)
    assert rows_of(results) == [[(i,)] for i in range(300)]
    assert {c[0] for c in session.calls} == {"stmt"}
    assert session.max_in_flight <= 7


def test_with_args_generator_and_empty(any_impl, make_session):
    session = make_session("thread")
    gen = any_impl.module.execute_concurrent_with_args(session, "s", [(1,), (2,)], results_generator=True)
    assert rows_of(gen) == [[(1,)], [(2,)]]
    assert any_impl.module.execute_concurrent_with_args(session, "s", []) == []


def test_execution_result_is_the_drivers_class(impl):
    assert impl.module.ExecutionResult is cassandra.concurrent.ExecutionResult


# -- concurrency bound and fail-fast ------------------------------------------

@pytest.mark.parametrize("concurrency", [1, 2, 10, 64])
def test_never_more_than_concurrency_in_flight(any_impl, make_session, concurrency):
    session = make_session("random", batch=5)
    run(any_impl, session, [("q", i) for i in range(400)], concurrency)
    assert 0 < session.max_in_flight <= concurrency


@pytest.mark.parametrize("generator", [False, True], ids=["list", "gen"])
@pytest.mark.parametrize("how", ["errback", "raise"])
def test_fail_fast_in_the_first_batch_stops_at_once(impl, make_session, generator, how):
    """Upstream loses this wake-up and runs the whole input first (defect 2)."""
    error = RuntimeError("first")
    session = make_session("inline", outcome=lambda s, p: (how if how == "raise" else "error", error)
                           if p == 0 else ("ok", [p]))
    with pytest.raises(RuntimeError) as info:
        run(impl, session, [("q", i) for i in range(10_000)], 50, generator=generator)
    assert info.value is error
    assert session.submitted == 1


@pytest.mark.parametrize("generator", [False, True], ids=["list", "gen"])
def test_fail_fast_sends_nothing_after_the_failure_is_seen(impl, make_session, generator):
    """Upstream keeps dispatching in the background after raising (defect 1)."""
    error = RuntimeError("late")
    session = make_session("manual", outcome=lambda s, p: ("error", error) if p == 30 else ("ok", [p]))
    items = ((("q", i) for i in range(10_000)))
    out = []

    def call():
        try:
            run(impl, session, items, 20, generator=generator)
        except RuntimeError as exc:
            out.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + 10
    while caller.is_alive() and time.monotonic() < deadline:
        session.complete_pending()
        time.sleep(0.001)
    caller.join(5)
    assert out == [error]
    submitted = session.submitted
    session.complete_pending()
    time.sleep(0.05)
    assert session.submitted == submitted
    assert submitted <= 31 + 20 * 2


@pytest.mark.parametrize("generator", [False, True], ids=["list", "gen"])
def test_a_second_completion_of_a_future_is_ignored(impl, make_session, generator):
    session = make_session("random", batch=4, fire_twice=True)
    results = run(impl, session, [("q", i) for i in range(300)], 4, generator=generator)
    assert rows_of(results) == [[i] for i in range(300)]
    assert session.max_in_flight <= 4


# -- bad input never truncates or hangs ---------------------------------------

def broken_iterable(good, error):
    yield from (("q", i) for i in range(good))
    raise error


@pytest.mark.parametrize("generator", [False, True], ids=["list", "gen"])
@pytest.mark.parametrize("mode", ["inline", "thread"])
@pytest.mark.parametrize("good", [0, 1, 5, 150])
def test_input_that_raises_becomes_a_failed_result(impl, make_session, generator, mode, good):
    error = KeyError("input broke")
    session = make_session(mode)
    results = run(impl, session, broken_iterable(good, error), 3, False, generator=generator)
    assert len(results) == good + 1
    assert all(r.success for r in results[:good])
    assert results[-1] == (False, error)
    with pytest.raises(KeyError) as info:
        run(impl, make_session(mode), broken_iterable(good, error), 3, generator=generator)
    assert info.value is error


@pytest.mark.parametrize("generator", [False, True], ids=["list", "gen"])
@pytest.mark.parametrize("bad_item", [None, 5, ("only one",), ("a", "b", "c")])
def test_malformed_item_gets_its_own_failed_result(impl, make_session, generator, bad_item):
    items = [("q", 0), ("q", 1), bad_item, ("q", 3)]
    session = make_session("thread")
    results = run(impl, session, iter(items), 1, False, generator=generator)
    assert [r.success for r in results] == [True, True, False, True]
    assert isinstance(results[2].result_or_exc, (TypeError, ValueError))
    with pytest.raises((TypeError, ValueError)):
        run(impl, make_session("thread"), iter(items), 1, generator=generator)


# -- generator mode: backpressure and early close -----------------------------

@pytest.mark.parametrize("concurrency", [1, 8, 50])
def test_generator_has_backpressure(impl, make_session, concurrency):
    session = make_session("thread")
    pulled = itertools.count()
    items = (("q", next(pulled)) for _ in range(5_000))
    consumed = 0
    for result in impl.module.execute_concurrent(session, items, concurrency, results_generator=True):
        assert result.result_or_exc.current_rows == [consumed]
        consumed += 1
        if consumed % 500 == 0:
            time.sleep(0.02)  # a slow consumer: completions pile up meanwhile
        assert session.submitted - consumed <= 2 * concurrency
    assert consumed == 5_000
    assert session.max_in_flight <= concurrency


def test_closing_the_generator_stops_submission(impl, make_session):
    session = make_session("thread")
    gen = impl.module.execute_concurrent(session, (("q", i) for i in range(100_000)), 10,
                                         results_generator=True)
    assert [next(gen).result_or_exc.current_rows for _ in range(5)] == [[i] for i in range(5)]
    gen.close()
    submitted = session.submitted
    time.sleep(0.05)
    assert session.submitted == submitted <= 5 + 2 * 10
    with pytest.raises(StopIteration):
        next(gen)


# -- synchronous completion: no recursion, linear work -------------------------

@pytest.mark.parametrize("kind", ["ok", "error", "raise"])
def test_synchronous_completion_does_not_recurse(impl, make_session, kind):
    error = RuntimeError("sync")
    session = make_session("inline", outcome=lambda s, p: (kind, [p] if kind == "ok" else error))
    n = 200_000
    results = impl.module.execute_concurrent(session, (("q", i) for i in range(n)), 100, False)
    assert len(results) == n
    assert results[-1].success == (kind == "ok")
    # Each statement was sent from the same, shallow frame: no recursion.
    assert session.max_stack_depth < 50
    assert sum(f.clear_calls for f in session.futures) == len(session.futures)


# -- paging: callbacks are cleared before a page fetch re-fires them -----------

def test_callbacks_are_cleared_before_results_are_handed_out(any_impl, make_session):
    session = make_session("thread")
    results = any_impl.module.execute_concurrent(session, [("q", i) for i in range(50)], 5)
    for future in session.futures:
        assert future.clear_calls >= 1
        future.refire()  # a page fetch: nothing of the executor's may run again
    assert rows_of(results) == [[i] for i in range(50)]


# -- async --------------------------------------------------------------------

def test_async_returns_at_once_and_resolves_in_order(impl, make_session):
    session = make_session("manual")
    future = impl.module.execute_concurrent_async(session, [("q", i) for i in range(100)], 10)
    assert not future.done()
    while not future.done():
        session.complete_pending()
        time.sleep(0.001)
    assert rows_of(future.result()) == [[i] for i in range(100)]


def test_async_empty_input_resolves_at_once(impl, make_session):
    future = impl.module.execute_concurrent_async(make_session("inline"), [])
    assert future.done() and future.result() == []


def test_async_defaults_to_collecting_failures(impl, make_session):
    outcome, errors = failing_every(5)
    future = impl.module.execute_concurrent_async(make_session("thread", outcome=outcome),
                                                  [("q", i) for i in range(20)])
    results = future.result(10)
    assert [r.success for r in results] == [i % 5 != 4 for i in range(20)]


def test_async_fail_fast_sets_the_exception_once(impl, make_session):
    outcome, errors = failing_every(5)
    future = impl.module.execute_concurrent_async(make_session("thread", outcome=outcome),
                                                  [("q", i) for i in range(200)], 3, True)
    settled = []
    future.add_done_callback(settled.append)
    assert future.exception(10) is errors[4]
    time.sleep(0.05)
    assert settled == [future]


def test_async_cancel_stops_submission(impl, make_session):
    session = make_session("manual")
    future = impl.module.execute_concurrent_async(session, (("q", i) for i in range(10_000)), 10)
    while session.submitted < 10:
        time.sleep(0.001)
    assert future.cancel()
    for _ in range(50):
        session.complete_pending()
        time.sleep(0.001)
    assert session.submitted <= 10 + 10


def test_async_can_be_awaited_from_asyncio(impl, make_session):
    session = make_session("thread")

    async def main():
        future = impl.module.execute_concurrent_async(session, [("q", i) for i in range(30)], 4)
        return await asyncio.wrap_future(future)

    assert rows_of(asyncio.run(main())) == [[i] for i in range(30)]


# -- threads and memory --------------------------------------------------------

def test_many_threads_share_one_session(impl, make_session):
    session = make_session("random", batch=16)
    outputs = {}

    def worker(n):
        outputs[n] = impl.module.execute_concurrent(session, [("q", (n, i)) for i in range(500)], 10)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outputs) == list(range(8))
    for n, results in outputs.items():
        assert rows_of(results) == [[(n, i)] for i in range(500)]


def test_executor_does_not_leak_after_the_call(impl, make_session):
    session = make_session("thread")
    gc.collect()
    before = len(gc.get_objects())
    for _ in range(5):
        impl.module.execute_concurrent(session, [("q", i) for i in range(200)], 20)
    session.futures.clear()
    session.calls.clear()
    gc.collect()
    assert len(gc.get_objects()) - before < 200
