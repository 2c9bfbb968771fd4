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
