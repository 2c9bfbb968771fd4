"""Shared fixtures: the implementations under test.

Every behaviour test takes ``impl`` and runs once per implementation: the
compiled executor (marked ``c_extension``) and the pure-Python twin.  Tests
whose semantics upstream shares also take ``any_impl``, which adds the
driver's own ``cassandra.concurrent`` as a reference.

A missing compiled module is an error, never a silent skip: run with
``--no-c-extensions`` to deselect those tests on purpose (the pure-mode leg
of .ci/run does this).
"""
from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass
from types import ModuleType

import pytest


@dataclass(frozen=True)
class Impl:
    tag: str
    module_name: str

    @property
    def module(self) -> ModuleType:
        return importlib.import_module(self.module_name)

    @property
    def is_driver(self) -> bool:
        return self.tag == "driver"


C_IMPL = Impl("c", "concurrent_ext._concurrent_c")
PY_IMPL = Impl("py", "concurrent_ext._concurrent_py")
DRIVER_IMPL = Impl("driver", "cassandra.concurrent")

_OURS = [pytest.param(C_IMPL, id="c", marks=pytest.mark.c_extension), pytest.param(PY_IMPL, id="py")]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--c-extensions",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the tests of the compiled module (default: on; a missing module is then an error)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--c-extensions"):
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("c_extension") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(params=_OURS)
def impl(request: pytest.FixtureRequest) -> Impl:
    """concurrent_ext's compiled module, then its pure twin."""
    return request.param


@pytest.fixture(params=[*_OURS, pytest.param(DRIVER_IMPL, id="driver")])
def any_impl(request: pytest.FixtureRequest) -> Impl:
    """Both of ours plus the driver's cassandra.concurrent as a reference."""
    return request.param


# ==========================================================================
# Loopback server fixtures (cql_loopback.CQLServer).
# Used by tests/test_cql_server.py and tests/test_loopback_integration.py;
# any test may use them.  Everything started here is stopped at teardown.
# ==========================================================================

LOOPBACK_KEYSPACE = "loopback"


def _loopback_cluster(server, *, retry_policy=None, request_timeout: float = 10.0, **cluster_kwargs):
    """A driver Cluster for `server`: protocol v4 (``protocol_version=None``
    lets the driver probe v5 first), no compression (the server offers
    none; the driver would log an error), and a reconnection delay short
    enough for fault tests."""
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import ConstantReconnectionPolicy, RetryPolicy, RoundRobinPolicy

    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=request_timeout,
                               retry_policy=retry_policy or RetryPolicy())
    options = dict(port=server.port, protocol_version=4, compression=False, connect_timeout=5,
                   reconnection_policy=ConstantReconnectionPolicy(0.1, max_attempts=None),
                   execution_profiles={EXEC_PROFILE_DEFAULT: profile})
    options.update(cluster_kwargs)
    if options["protocol_version"] is None:  # let the driver probe (v5 first, then down to v4)
        del options["protocol_version"]
    return Cluster([server.host], **options)


@pytest.fixture(scope="module")
def loopback_server():
    """One in-process loopback CQL server for the whole test module."""
    from cql_loopback import CQLServer

    with CQLServer() as server:
        yield server


@pytest.fixture
def loopback_server_factory():
    """Factory: ``loopback_server_factory(**CQLServer_kwargs)`` returns a
    started server of the test's own (for fault injection); all are stopped
    at teardown."""
    from cql_loopback import CQLServer

    servers = []

    def start(**kwargs):
        server = CQLServer(**kwargs)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def loopback_connect(loopback_server_factory):
    """Factory: ``loopback_connect(server, retry_policy=None, **cluster_kwargs)``
    returns a connected Session; every Cluster it made is shut down at
    teardown, before any server from ``loopback_server_factory`` stops."""
    clusters = []

    def connect(server, **kwargs):
        cluster = _loopback_cluster(server, **kwargs)
        clusters.append(cluster)
        return cluster.connect()

    yield connect
    for cluster in clusters:
        cluster.shutdown()


@pytest.fixture(scope="module")
def loopback_session(loopback_server):
    """A Session on the module's loopback server, with keyspace
    ``LOOPBACK_KEYSPACE`` created; default retry policy."""
    cluster = _loopback_cluster(loopback_server)
    try:
        session = cluster.connect()
        session.execute(f"CREATE KEYSPACE IF NOT EXISTS {LOOPBACK_KEYSPACE} WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 1}")
        yield session
    finally:
        cluster.shutdown()
