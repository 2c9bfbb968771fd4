"""Public surface: signatures match upstream, both twins match, install() works."""
from __future__ import annotations

import inspect

import cassandra.cluster
import cassandra.concurrent
import pytest
from fake_driver import FakeSession

import concurrent_ext
from concurrent_ext import _install

PUBLIC = ["ExecutionResult", "execute_concurrent", "execute_concurrent_async", "execute_concurrent_with_args"]
UPSTREAM_FUNCTIONS = ["execute_concurrent", "execute_concurrent_with_args"]


def parameters(function):
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


def test_both_twins_have_the_same_public_names_and_signatures(impl):
    from concurrent_ext import _concurrent_py as pure

    assert sorted(impl.module.__all__) == sorted(pure.__all__) == PUBLIC
    for name in PUBLIC[1:]:
        assert parameters(getattr(impl.module, name)) == parameters(getattr(pure, name)), name


@pytest.mark.parametrize("name", UPSTREAM_FUNCTIONS)
def test_upstream_parameters_come_first_and_extras_are_keyword_only(impl, name):
    ours = parameters(getattr(impl.module, name))
    upstream = parameters(getattr(cassandra.concurrent, name))
    assert ours[: len(upstream)] == upstream
    assert all(kind is inspect.Parameter.KEYWORD_ONLY for _, kind, _ in ours[len(upstream):])


def test_async_signature_matches_the_datastax_one(impl):
    names = [name for name, _, _ in parameters(impl.module.execute_concurrent_async)]
    assert names == ["session", "statements_and_parameters", "concurrency", "raise_on_first_error",
                     "execution_profile", "timeout"]
    signature = inspect.signature(impl.module.execute_concurrent_async)
    assert signature.parameters["raise_on_first_error"].default is False
    assert signature.parameters["execution_profile"].default is cassandra.cluster.EXEC_PROFILE_DEFAULT


def test_package_exports_the_selected_implementation():
    module = concurrent_ext.execute_concurrent.__module__
    assert module == ("concurrent_ext._concurrent_c" if concurrent_ext.USE_EXTENSIONS
                      else "concurrent_ext._concurrent_py")
    assert concurrent_ext.ExecutionResult is cassandra.concurrent.ExecutionResult


@pytest.fixture
def clean_install():
    concurrent_ext.uninstall()
    yield
    concurrent_ext.uninstall()


def test_install_replaces_and_uninstall_restores(clean_install):
    originals = {n: getattr(cassandra.concurrent, n) for n in UPSTREAM_FUNCTIONS}
    concurrent_ext.install()
    concurrent_ext.install()  # idempotent
    for name in UPSTREAM_FUNCTIONS:
        assert getattr(cassandra.concurrent, name) is getattr(concurrent_ext, name)
    assert not hasattr(cassandra.concurrent, "execute_concurrent_async")  # not added where absent
    session = FakeSession("inline")
    results = cassandra.concurrent.execute_concurrent_with_args(session, "q", [(1,), (2,)], timeout=3)
    assert [r.result_or_exc.current_rows for r in results] == [[(1,)], [(2,)]]
    assert [c[2] for c in session.calls] == [3, 3]  # only ours knows `timeout`
    concurrent_ext.uninstall()
    concurrent_ext.uninstall()
    for name, original in originals.items():
        assert getattr(cassandra.concurrent, name) is original


def test_names_imported_before_install_keep_the_old_function(clean_install):
    from cassandra.concurrent import execute_concurrent as imported_before

    concurrent_ext.install()
    assert imported_before is not cassandra.concurrent.execute_concurrent
    assert imported_before.__module__ == "cassandra.concurrent"


def test_install_replaces_session_methods_where_the_driver_has_them(clean_install, monkeypatch):
    """The DataStax driver has Session.execute_concurrent*; scylla-driver does not."""
    def upstream_method(self, statements_and_parameters, concurrency=100):
        raise AssertionError("the driver's method ran")

    monkeypatch.setattr(cassandra.cluster.Session, "execute_concurrent", upstream_method, raising=False)
    concurrent_ext.install()
    session = FakeSession("inline")
    results = cassandra.cluster.Session.execute_concurrent(session, [("q", 1)], 5)
    assert [r.result_or_exc.current_rows for r in results] == [[1]]
    assert not hasattr(cassandra.cluster.Session, "execute_concurrent_async")
    concurrent_ext.uninstall()
    assert cassandra.cluster.Session.__dict__["execute_concurrent"] is upstream_method
    assert _install.installed() is False
