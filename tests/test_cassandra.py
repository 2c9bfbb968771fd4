"""Integration tests against a real Cassandra (or ScyllaDB) node.

Start a local node with ``ci/cassandra start`` (Java 17 + Maven), or point
the tests at an existing cluster with ``CONCURRENT_EXT_TEST_HOSTS=h1,h2``
(port 9042).  Without a node every test here is skipped, unless ``CI=true``
or ``CONCURRENT_EXT_REQUIRE_CASSANDRA=1``, which turn that into an error.

Each test runs against our compiled and pure executors and, as a reference,
the driver's own ``cassandra.concurrent`` (``any_impl``).  Everything lives in
one keyspace, ``concurrent_ext_test_<random>`` (or
``CONCURRENT_EXT_TEST_KEYSPACE``), that is dropped at the end.
``CONCURRENT_EXT_TEST_ROWS`` (default 10000) scales the bulk tests.
"""
from __future__ import annotations

import os
import random
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from cassandra import ConsistencyLevel, InvalidRequest
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, Session
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy
from cassandra.query import (
    BatchStatement,
    BatchType,
    BoundStatement,
    PreparedStatement,
    SimpleStatement,
    dict_factory,
    tuple_factory,
)

pytestmark = pytest.mark.cassandra

HOSTS = [h.strip() for h in os.environ.get("CONCURRENT_EXT_TEST_HOSTS", "127.0.0.1").split(",") if h.strip()]
REQUIRED = os.environ.get("CI", "").lower() == "true" or os.environ.get(
    "CONCURRENT_EXT_REQUIRE_CASSANDRA", "") not in ("", "0")
# Unique per session: two runs (or xdist workers) against one node must not
# drop each other's keyspace.
KEYSPACE = os.environ.get("CONCURRENT_EXT_TEST_KEYSPACE") or f"concurrent_ext_test_{secrets.token_hex(4)}"
N_ROWS = int(os.environ.get("CONCURRENT_EXT_TEST_ROWS", "10000"))
PAGED_ROWS = 1000  # partition 0 of `paged`; read with fetch_size=100
PAGED_ROWS_2 = 250  # partition 1
PROFILE_ALL_DICT = "concurrent_ext_all_dict"  # CL ALL + dict rows: visibly not the default
MODES = ["list", "generator", "async"]


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (required: CI=true or CONCURRENT_EXT_REQUIRE_CASSANDRA=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def session() -> Iterator[Session]:
    def lbp():
        return TokenAwarePolicy(DCAwareRoundRobinPolicy())

    cluster = Cluster(
        HOSTS,
        # v4: what ScyllaDB speaks; Cassandra 5.0 would otherwise negotiate v5.
        protocol_version=4,
        connect_timeout=5,
        execution_profiles={
            # Plain tuples: named_tuple_factory builds a namedtuple class per
            # response, which doubles the client CPU of 10,000 one-row SELECTs.
            EXEC_PROFILE_DEFAULT: ExecutionProfile(load_balancing_policy=lbp(), request_timeout=30,
                                                   row_factory=tuple_factory),
            PROFILE_ALL_DICT: ExecutionProfile(load_balancing_policy=lbp(), request_timeout=30,
                                               consistency_level=ConsistencyLevel.ALL,
                                               row_factory=dict_factory),
        },
    )
    try:
        sess = cluster.connect()
    except Exception as exc:  # noqa: BLE001 - NoHostAvailable, OSError, ...
        cluster.shutdown()
        _unavailable(f"no Cassandra answers at {','.join(HOSTS)}:9042 ({type(exc).__name__}); "
                     "run ci/cassandra start or set CONCURRENT_EXT_TEST_HOSTS")
    try:
        sess.execute(f"DROP KEYSPACE IF EXISTS {KEYSPACE}", timeout=60)
        sess.execute(f"CREATE KEYSPACE {KEYSPACE} WITH replication = "
                     "{'class': 'SimpleStrategy', 'replication_factor': 1}", timeout=60)
        sess.set_keyspace(KEYSPACE)
        for ddl in (
            "CREATE TABLE kv (impl text, k int, v text, PRIMARY KEY ((impl, k)))",
            "CREATE TABLE paged (p int, c int, v int, PRIMARY KEY (p, c))",
            "CREATE TABLE mixed (impl text, k int, v text, PRIMARY KEY ((impl, k)))",
        ):
            sess.execute(ddl, timeout=60)
        # Fixed data for the read-only tests, written without any executor.
        insert = sess.prepare("INSERT INTO paged (p, c, v) VALUES (?, ?, ?)")
        for p, n in ((0, PAGED_ROWS), (1, PAGED_ROWS_2)):
            for start in range(0, n, 100):
                batch = BatchStatement(BatchType.UNLOGGED)
                for c in range(start, min(start + 100, n)):
                    batch.add(insert, (p, c, 10 * c + p))
                sess.execute(batch)
        yield sess
    finally:
        try:
            sess.execute(f"DROP KEYSPACE IF EXISTS {KEYSPACE}", timeout=60)
        finally:
            cluster.shutdown()


# --------------------------------------------------------------------------
# helpers


def _run(impl, session, items, mode: str, **kwargs) -> list:
    """Run items through impl in the given mode and return the results as a list."""
    mod = impl.module
    if mode == "list":
        return mod.execute_concurrent(session, items, **kwargs)
    if mode == "generator":
        return list(mod.execute_concurrent(session, items, results_generator=True, **kwargs))
    assert mode == "async"
    if impl.is_driver:
        pytest.skip("scylla-driver's cassandra.concurrent has no execute_concurrent_async")
    kwargs.setdefault("raise_on_first_error", False)
    return mod.execute_concurrent_async(session, items, **kwargs).result(timeout=120)


def _rows(result) -> list:
    """All rows of a successful ResultSet; iterating fetches further pages synchronously."""
    return list(result)


def _assert_ok(results: list, n: int) -> None:
    assert len(results) == n
    failures = [(i, r.result_or_exc) for i, r in enumerate(results) if not r.success]
    assert not failures, f"{len(failures)} failed, first: {failures[0]!r}"


_loaded: set[str] = set()


def _ensure_kv(session, tag: str) -> PreparedStatement:
    """The SELECT of `kv`; loads tag's rows with the driver's executor if the insert test did not run."""
    if tag not in _loaded:
        from cassandra.concurrent import execute_concurrent_with_args as reference

        insert = session.prepare("INSERT INTO kv (impl, k, v) VALUES (?, ?, ?)")
        _assert_ok(reference(session, insert, [(tag, k, f"{tag}:{k}") for k in range(N_ROWS)]), N_ROWS)
        _loaded.add(tag)
    return session.prepare("SELECT impl, k, v FROM kv WHERE impl = ? AND k = ?")


# --------------------------------------------------------------------------
# bulk: 10,000 prepared INSERTs, then a prepared SELECT per key


@pytest.mark.timeout(120)
def test_prepared_insert_with_args(session, any_impl):
    tag = any_impl.tag
    insert = session.prepare("INSERT INTO kv (impl, k, v) VALUES (?, ?, ?)")
    results = any_impl.module.execute_concurrent_with_args(
        session, insert, [(tag, k, f"{tag}:{k}") for k in range(N_ROWS)])
    _assert_ok(results, N_ROWS)
    # An INSERT gives an empty, falsy ResultSet.
    assert all(not r.result_or_exc and r.result_or_exc.current_rows == [] for r in results)
    count = session.execute("SELECT COUNT(*) FROM kv WHERE impl = %s ALLOW FILTERING", (tag,),
                            timeout=60).one()[0]
    assert count == N_ROWS
    _loaded.add(tag)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", MODES)
def test_prepared_select_each_key(session, any_impl, mode):
    tag = any_impl.tag
    select = _ensure_kv(session, tag)
    keys = list(range(N_ROWS))
    random.Random(N_ROWS).shuffle(keys)  # result i must belong to key i, whatever the order
    results = _run(any_impl, session, [(select, (tag, k)) for k in keys], mode)
    _assert_ok(results, N_ROWS)
    wrong = [(k, r.result_or_exc.current_rows) for k, r in zip(keys, results)
             if r.result_or_exc.current_rows != [(tag, k, f"{tag}:{k}")]]
    assert not wrong, f"{len(wrong)} results are not the row of their statement, first: {wrong[0]!r}"


# --------------------------------------------------------------------------
# paging


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", MODES)
def test_paged_results(session, any_impl, mode):
    paged = session.prepare("SELECT c, v FROM paged WHERE p = ?")
    paged.fetch_size = 100
    single = session.prepare("SELECT c, v FROM paged WHERE p = ? AND c = ?")
    items = [(paged, (0,)), (single, (0, 7)), (paged, (1,))]
    mod = any_impl.module
    if mode == "generator":
        # Read every page of a result before asking for the next one: a
        # callback left on a paged future would re-fire here.
        pages = []
        for r in mod.execute_concurrent(session, items, results_generator=True):
            assert r.success, r.result_or_exc
            pages.append((r.result_or_exc.has_more_pages, len(r.result_or_exc.current_rows),
                          _rows(r.result_or_exc)))
        assert len(pages) == 3
    else:
        results = _run(any_impl, session, items, mode)
        _assert_ok(results, 3)
        pages = [(r.result_or_exc.has_more_pages, len(r.result_or_exc.current_rows),
                  _rows(r.result_or_exc)) for r in results]
        assert len(results) == 3  # fetching pages added nothing
    (more0, first0, rows0), (more1, first1, rows1), (more2, first2, rows2) = pages
    assert (more0, first0) == (True, 100)
    assert [tuple(r) for r in rows0] == [(c, 10 * c) for c in range(PAGED_ROWS)]
    assert len({r[0] for r in rows0}) == PAGED_ROWS
    assert (more1, first1, [tuple(r) for r in rows1]) == (False, 1, [(7, 70)])
    assert (more2, first2) == (True, 100)
    assert [tuple(r) for r in rows2] == [(c, 10 * c + 1) for c in range(PAGED_ROWS_2)]


# --------------------------------------------------------------------------
# server-side errors

BAD_STATEMENTS = {
    "undefined_column": "SELECT no_such_column FROM paged WHERE p = 0",
    "wrong_type": "SELECT v FROM paged WHERE p = 'zero'",
}
N_ERR, BAD_AT = 40, 23


def _error_items(session, bad: str) -> list:
    select = session.prepare("SELECT v FROM paged WHERE p = 0 AND c = ?")
    items: list[Any] = [(select, (c,)) for c in range(N_ERR)]
    items[BAD_AT] = (BAD_STATEMENTS[bad], None)
    return items


@pytest.mark.timeout(60)
@pytest.mark.parametrize("bad", sorted(BAD_STATEMENTS))
@pytest.mark.parametrize("mode", MODES)
def test_server_error_raises_on_first_error(session, any_impl, mode, bad):
    items = _error_items(session, bad)
    with pytest.raises(InvalidRequest):
        _run(any_impl, session, items, mode, concurrency=8, raise_on_first_error=True)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("bad", sorted(BAD_STATEMENTS))
@pytest.mark.parametrize("mode", MODES)
def test_server_error_only_that_item_fails(session, any_impl, mode, bad):
    items = _error_items(session, bad)
    results = _run(any_impl, session, items, mode, concurrency=8, raise_on_first_error=False)
    assert len(results) == N_ERR
    for c, (success, result) in enumerate(results):
        if c == BAD_AT:
            assert success is False
            assert isinstance(result, InvalidRequest), repr(result)
        else:
            assert success is True, repr(result)
            assert result.current_rows == [(10 * c,)]


# --------------------------------------------------------------------------
# statement kinds: str, SimpleStatement, PreparedStatement, BoundStatement, batch


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", MODES)
def test_mixed_statement_types(session, any_impl, mode):
    tag = f"{any_impl.tag}-{mode}"
    insert_cql = "INSERT INTO mixed (impl, k, v) VALUES (%s, %s, %s)"
    insert = session.prepare("INSERT INTO mixed (impl, k, v) VALUES (?, ?, ?)")
    bound = insert.bind((tag, 4, "bound"))
    assert isinstance(bound, BoundStatement)
    batch = BatchStatement(BatchType.UNLOGGED)
    batch.add(insert, (tag, 6, "batch-a"))
    batch.add(insert, (tag, 7, "batch-b"))
    writes = [
        (insert_cql, (tag, 1, "str")),
        (SimpleStatement(insert_cql), (tag, 2, "simple")),
        (insert, (tag, 3, "prepared")),
        (bound, None),
        (f"INSERT INTO mixed (impl, k, v) VALUES ('{tag}', 5, 'literal')", None),
        (batch, None),
    ]
    results = _run(any_impl, session, writes, mode)
    _assert_ok(results, len(writes))
    assert all(not r.result_or_exc for r in results)

    select_cql = "SELECT v FROM mixed WHERE impl = %s AND k = %s"
    select = session.prepare("SELECT v FROM mixed WHERE impl = ? AND k = ?")
    reads = [
        (select_cql, (tag, 1)),
        (SimpleStatement(select_cql), (tag, 2)),
        (select, (tag, 3)),
        (select.bind((tag, 4)), None),
        (f"SELECT v FROM mixed WHERE impl = '{tag}' AND k = 5", ()),
        (SimpleStatement(f"SELECT v FROM mixed WHERE impl = '{tag}' AND k = 6"), None),
        (select, {"impl": tag, "k": 7}),  # bind by name
        (select, (tag, 8)),  # no such row
    ]
    results = _run(any_impl, session, reads, mode)
    _assert_ok(results, len(reads))
    assert [r.result_or_exc.current_rows for r in results] == [
        [("str",)], [("simple",)], [("prepared",)], [("bound",)], [("literal",)],
        [("batch-a",)], [("batch-b",)], []]


# --------------------------------------------------------------------------
# execution profiles


def _consistency(result) -> int:
    # The profile's CL is resolved into the request message; the statement
    # itself keeps consistency_level=None.
    future = result.response_future
    assert future.query.consistency_level is None
    return future.message.consistency_level


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", MODES)
def test_execution_profile_honoured(session, any_impl, mode):
    select = session.prepare("SELECT c, v FROM paged WHERE p = 0 AND c = ?")
    items = [(select, (c,)) for c in range(30)]

    results = _run(any_impl, session, items, mode, execution_profile=PROFILE_ALL_DICT)
    _assert_ok(results, 30)
    for c, r in enumerate(results):
        assert r.result_or_exc.current_rows == [{"c": c, "v": 10 * c}]
        assert _consistency(r.result_or_exc) == ConsistencyLevel.ALL

    results = _run(any_impl, session, items, mode)  # default profile
    _assert_ok(results, 30)
    default_cl = session.cluster.profile_manager.default.consistency_level
    assert default_cl != ConsistencyLevel.ALL
    for c, r in enumerate(results):
        assert r.result_or_exc.current_rows == [(c, 10 * c)]
        assert not isinstance(r.result_or_exc.current_rows[0], dict)
        assert _consistency(r.result_or_exc) == default_cl


@pytest.mark.timeout(60)
def test_execution_profile_with_args(session, any_impl):
    select = session.prepare("SELECT c, v FROM paged WHERE p = 0 AND c = ?")
    results = any_impl.module.execute_concurrent_with_args(
        session, select, [(c,) for c in range(30)], execution_profile=PROFILE_ALL_DICT)
    _assert_ok(results, 30)
    for c, r in enumerate(results):
        assert r.result_or_exc.current_rows == [{"c": c, "v": 10 * c}]
        assert _consistency(r.result_or_exc) == ConsistencyLevel.ALL
