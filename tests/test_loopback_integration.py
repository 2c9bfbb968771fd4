"""The real driver against the loopback CQL server, through each executor.

``any_impl`` runs a test on our compiled and pure executors and on the
driver's ``cassandra.concurrent``; tests of what only we have (the async
function, the ``timeout=`` argument) take ``impl``.  Fault tests get a fresh
server and cluster each, so that one test's injected faults, closed
connections or statements still running in the background (the driver's
fail-fast keeps dispatching after it raises) cannot leak into the next.
"""
from __future__ import annotations

import itertools
import threading
import time
from collections import Counter

import pytest
from cassandra import InvalidRequest, OperationTimedOut, ReadTimeout, Unavailable, WriteTimeout
from cassandra.cluster import NoHostAvailable, ResultSet
from cassandra.connection import ConnectionException
from cassandra.policies import FallthroughRetryPolicy
from cassandra.protocol import OverloadedErrorMessage, ServerError
from cassandra.query import SimpleStatement

KEYSPACE = "loopback"  # created by the loopback_session fixture
TABLE = f"{KEYSPACE}.kv"
CREATE_TABLE = f"CREATE TABLE IF NOT EXISTS {TABLE} (k int, c int, v text, PRIMARY KEY (k, c))"
INSERT = f"INSERT INTO {TABLE} (k, c, v) VALUES (?, ?, ?)"
SELECT_PARTITION = f"SELECT k, c, v FROM {TABLE} WHERE k = ?"
LISTY_MODES = ["list", "generator"]  # what the driver's module also has

INJECTED = {
    "invalid": InvalidRequest,
    "write_timeout": WriteTimeout,
    "read_timeout": ReadTimeout,
    "unavailable": Unavailable,
    "overloaded": OverloadedErrorMessage,
    "server_error": ServerError,
}

_partitions = itertools.count(1, 10_000)


@pytest.fixture
def base() -> int:
    """A fresh range of partition keys, so tests on the shared table never meet."""
    return next(_partitions)


@pytest.fixture(scope="module")
def session(loopback_session):
    loopback_session.execute(CREATE_TABLE)
    return loopback_session


@pytest.fixture(scope="module")
def insert(session):
    return session.prepare(INSERT)


@pytest.fixture(scope="module")
def select_partition(session):
    return session.prepare(SELECT_PARTITION)


def run(impl, session, statements, mode: str, **kwargs) -> list:
    """Execute through `impl` in `mode` and return the results as a list."""
    module = impl.module
    if mode == "async":
        return module.execute_concurrent_async(session, statements, **kwargs).result(timeout=30)
    return list(module.execute_concurrent(session, statements, results_generator=mode == "generator", **kwargs))


def run_with_args(impl, session, statement, parameters, mode: str, **kwargs) -> list:
    if mode == "async":  # there is no async _with_args: build the pairs
        return run(impl, session, zip(itertools.repeat(statement), parameters), mode, **kwargs)
    results = impl.module.execute_concurrent_with_args(
        session, statement, parameters, results_generator=mode == "generator", **kwargs)
    return list(results)


def fault_session(loopback_server_factory, loopback_connect, **faults):
    """A fresh server with `faults` and a session that never retries, so the
    server's error is what the executor sees.  Faults never touch DDL."""
    server = loopback_server_factory(**faults)
    session = loopback_connect(server, retry_policy=FallthroughRetryPolicy())
    session.execute(f"CREATE KEYSPACE {KEYSPACE} WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    session.execute(CREATE_TABLE)
    return server, session, session.prepare(INSERT)


# --- results, order, paging ---------------------------------------------------------

def _check_round_trip(impl, session, insert, select_partition, base: int, mode: str) -> None:
    n = 300
    rows = [(base + i, i, f"value-{i}") for i in range(n)]
    written = run_with_args(impl, session, insert, rows, mode, concurrency=50)
    assert len(written) == n
    assert all(r.success and isinstance(r.result_or_exc, ResultSet) and r.result_or_exc == [] for r in written)
    # Read back in a scrambled order: result i must be the row of statement i.
    keys = [base + (i * 7919) % n for i in range(n)]
    read = run_with_args(impl, session, select_partition, [(k,) for k in keys], mode, concurrency=37)
    assert len(read) == n
    for key, (success, result) in zip(keys, read):
        assert success, result
        assert [tuple(row) for row in result] == [(key, key - base, f"value-{key - base}")]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("mode", LISTY_MODES)
def test_prepared_insert_then_select_round_trip(any_impl, session, insert, select_partition, base, mode):
    _check_round_trip(any_impl, session, insert, select_partition, base, mode)


@pytest.mark.timeout(30)
def test_prepared_insert_then_select_round_trip_async(impl, session, insert, select_partition, base):
    _check_round_trip(impl, session, insert, select_partition, base, "async")


def _check_mixed_statements(impl, session, insert, base: int, mode: str) -> None:
    def statements():  # a generator, consumed lazily
        for i in range(60):
            if i % 3 == 0:
                yield insert, (base, i, "prepared")
            elif i % 3 == 1:
                yield insert.bind((base, i, "bound")), None
            else:
                yield SimpleStatement(f"INSERT INTO {TABLE} (k, c, v) VALUES (%s, %s, %s)"), (base, i, "simple")
        yield f"SELECT c, v FROM {TABLE} WHERE k = {base}", None

    results = run(impl, session, statements(), mode, concurrency=1)  # 1: the SELECT runs last
    assert len(results) == 61
    assert all(r.success for r in results)
    kinds = ["prepared", "bound", "simple"]
    assert [tuple(r) for r in results[-1].result_or_exc] == [(i, kinds[i % 3]) for i in range(60)]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("mode", LISTY_MODES)
def test_generator_input_of_mixed_statement_kinds(any_impl, session, insert, base, mode):
    _check_mixed_statements(any_impl, session, insert, base, mode)


@pytest.mark.timeout(30)
def test_generator_input_of_mixed_statement_kinds_async(impl, session, insert, base):
    _check_mixed_statements(impl, session, insert, base, "async")


def _check_paging(impl, session, insert, select_partition, base: int, mode: str) -> None:
    sizes = {base: 250, base + 1: 45}
    rows = [(k, c, f"p{c}") for k, n in sizes.items() for c in range(n)]
    assert all(r.success for r in run_with_args(impl, session, insert, rows, mode))
    bound = select_partition.bind((base,))
    bound.fetch_size = 20
    simple = SimpleStatement(f"SELECT k, c, v FROM {TABLE} WHERE k = %s", fetch_size=7)
    statements = [(bound, None), (simple, (base + 1,)), (simple, (base,))]
    results = run(impl, session, statements, mode)
    for (success, result), key in zip(results, [base, base + 1, base]):
        assert success, result
        assert result.has_more_pages  # only the first page has arrived
        # Iterating fetches every further page, in clustering order (islice:
        # a server that ignored the paging state would loop forever).
        rows = itertools.islice(result, sizes[key] + 1)
        assert [tuple(r) for r in rows] == [(key, c, f"p{c}") for c in range(sizes[key])]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("mode", LISTY_MODES)
def test_paging_with_fetch_size_smaller_than_the_partition(any_impl, session, insert, select_partition, base, mode):
    _check_paging(any_impl, session, insert, select_partition, base, mode)


@pytest.mark.timeout(30)
def test_paging_with_fetch_size_smaller_than_the_partition_async(impl, session, insert, select_partition, base):
    _check_paging(impl, session, insert, select_partition, base, "async")


# --- injected server errors ----------------------------------------------------------

N_FAULTED = 60
ERROR_EVERY = 6


def _check_error_raised(impl, factory, connect, error: str, mode: str) -> None:
    _, session, insert = fault_session(factory, connect, error_every=ERROR_EVERY, error=error)
    rows = [(1, i, "x") for i in range(N_FAULTED)]
    with pytest.raises(INJECTED[error]):
        run_with_args(impl, session, insert, rows, mode, concurrency=10, raise_on_first_error=True)


def _check_error_collected(impl, factory, connect, error: str, mode: str) -> None:
    _, session, insert = fault_session(factory, connect, error_every=ERROR_EVERY, error=error)
    rows = [(1, i, "x") for i in range(N_FAULTED)]
    results = run_with_args(impl, session, insert, rows, mode, concurrency=10, raise_on_first_error=False)
    assert len(results) == N_FAULTED
    failed = [r.result_or_exc for r in results if not r.success]
    # Every K-th request the server sees fails; nothing is retried.
    assert len(failed) == N_FAULTED // ERROR_EVERY
    assert all(type(exc) is INJECTED[error] for exc in failed), Counter(type(e).__name__ for e in failed)
    assert all(isinstance(r.result_or_exc, ResultSet) for r in results if r.success)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("mode", LISTY_MODES)
@pytest.mark.parametrize("error", sorted(INJECTED))
def test_injected_error_raises_on_first_error(any_impl, loopback_server_factory, loopback_connect, error, mode):
    _check_error_raised(any_impl, loopback_server_factory, loopback_connect, error, mode)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("mode", LISTY_MODES)
@pytest.mark.parametrize("error", sorted(INJECTED))
def test_injected_error_collected_per_statement(any_impl, loopback_server_factory, loopback_connect, error, mode):
    _check_error_collected(any_impl, loopback_server_factory, loopback_connect, error, mode)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("error", sorted(INJECTED))
def test_injected_error_async(impl, loopback_server_factory, loopback_connect, error):
    _check_error_raised(impl, loopback_server_factory, loopback_connect, error, "async")
    _check_error_collected(impl, loopback_server_factory, loopback_connect, error, "async")


@pytest.mark.timeout(30)
def test_default_retry_policy_turns_unavailable_into_no_host_available(
        any_impl, loopback_server_factory, loopback_connect):
    server = loopback_server_factory(error_every=1, error="unavailable")
    session = loopback_connect(server)  # default RetryPolicy: retries on the next host; there is none
    session.execute(f"CREATE KEYSPACE {KEYSPACE} WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    session.execute(CREATE_TABLE)
    results = run(any_impl, session, [(f"INSERT INTO {TABLE} (k, c) VALUES (1, {i})", None) for i in range(5)],
                  "list", raise_on_first_error=False)
    assert [type(r.result_or_exc) for r in results] == [NoHostAvailable] * 5


# --- lost connections and lost responses -------------------------------------------

def _check_connection_closed_mid_run(impl, factory, connect, mode: str) -> None:
    server, session, insert = fault_session(factory, connect)
    server.configure(close_after=25)  # after the set-up DDL, so that it cannot be hit
    n = 400
    started = time.monotonic()
    results = run_with_args(impl, session, insert, [(2, i, "x") for i in range(n)], mode,
                            concurrency=50, raise_on_first_error=False)
    assert time.monotonic() - started < 15
    assert len(results) == n  # exactly one result per statement
    outcomes = Counter(r.success for r in results)
    assert outcomes[True] >= 25 and outcomes[False] > 0, outcomes
    for success, outcome in results:
        assert isinstance(outcome, ResultSet if success else (ConnectionException, NoHostAvailable)), outcome


@pytest.mark.timeout(30)
@pytest.mark.parametrize("mode", LISTY_MODES)
def test_server_closing_connections_mid_run(any_impl, loopback_server_factory, loopback_connect, mode):
    _check_connection_closed_mid_run(any_impl, loopback_server_factory, loopback_connect, mode)


@pytest.mark.timeout(30)
def test_server_closing_connections_mid_run_async(impl, loopback_server_factory, loopback_connect):
    _check_connection_closed_mid_run(impl, loopback_server_factory, loopback_connect, "async")


@pytest.mark.timeout(30)
def test_server_closing_connections_with_fail_fast_returns(any_impl, loopback_server_factory, loopback_connect):
    server, session, insert = fault_session(loopback_server_factory, loopback_connect)
    server.configure(close_after=25)
    with pytest.raises((ConnectionException, NoHostAvailable)):  # whichever came first
        run_with_args(any_impl, session, insert, [(3, i, "x") for i in range(400)], "list",
                      concurrency=50, raise_on_first_error=True)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("mode", ["list", "generator", "async"])
def test_never_answered_requests_time_out(impl, loopback_server_factory, loopback_connect, mode):
    _, session, insert = fault_session(loopback_server_factory, loopback_connect, drop_every=10)
    started = time.monotonic()
    results = run_with_args(impl, session, insert, [(4, i, "x") for i in range(100)], mode,
                            concurrency=100, raise_on_first_error=False, timeout=0.5)
    assert time.monotonic() - started < 5
    assert len(results) == 100
    failed = [r.result_or_exc for r in results if not r.success]
    assert len(failed) == 10 and all(isinstance(exc, OperationTimedOut) for exc in failed)
    with pytest.raises(OperationTimedOut):
        run_with_args(impl, session, insert, [(5, i, "x") for i in range(20)], mode,
                      concurrency=20, raise_on_first_error=True, timeout=0.5)


# --- many callers ------------------------------------------------------------------------

@pytest.mark.timeout(30)
def test_many_threads_share_one_session(any_impl, session, insert, base):
    threads, per_thread = 8, 250
    barrier = threading.Barrier(threads)
    failures: list[BaseException] = []
    counts: dict[int, int] = {}

    def work(t: int) -> None:
        try:
            key = base + t
            barrier.wait(timeout=10)
            results = any_impl.module.execute_concurrent_with_args(
                session, insert, [(key, i, f"t{t}") for i in range(per_thread)], concurrency=25)
            assert len(results) == per_thread and all(r.success for r in results)
            counts[t] = session.execute(f"SELECT COUNT(*) FROM {TABLE} WHERE k = {key}").one()[0]
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    workers = [threading.Thread(target=work, args=(t,), daemon=True) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=25)
    assert not any(worker.is_alive() for worker in workers), "a caller hung"
    assert not failures, failures
    assert counts == {t: per_thread for t in range(threads)}
