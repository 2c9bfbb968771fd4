"""Executor overhead alone, with pytest-benchmark and fake futures.

    pytest bench/test_micro.py --benchmark-only [--micro-statements 100000]
        [--micro-concurrency 100] [--micro-rounds 5] [--benchmark-json FILE]

A fake session's futures are completed in batches by a second thread
(bench.fakes).  ``bare`` is the fake-session bare loop (submit + count), so
an executor's own overhead per statement is (impl time - bare time) / N.
pytest-benchmark runs each benchmark's rounds back to back; for a table
from interleaved rounds (less sensitive to a noisy machine) use
``python -m bench.micro``.  A missing implementation is skipped with the
import error as the reason (shown by -ra).
"""
from __future__ import annotations

import gc

import pytest

from bench import impls
from bench.fakes import Completer, FakeSession
from bench.micro import STATEMENT, make_params


@pytest.fixture(scope="module")
def session():
    with Completer() as completer:
        yield FakeSession(completer)


@pytest.fixture(scope="module")
def params(request):
    return make_params(request.config.getoption("--micro-statements"))


@pytest.mark.parametrize("mode", ["list", "generator"])
@pytest.mark.parametrize("tag", ["bare", "c", "py", "driver"])
def test_executor(benchmark, request, session, params, tag, mode):
    runners, skipped = impls.load([tag])
    if tag in skipped:
        pytest.skip(skipped[tag])
    run = runners[tag]
    concurrency = request.config.getoption("--micro-concurrency")
    generator = mode == "generator"
    benchmark.group = "micro %s, %d statements, concurrency %d" % (mode, len(params), concurrency)
    benchmark.extra_info.update(impl=tag, mode=mode, statements=len(params), concurrency=concurrency)

    def once():
        return run(session, STATEMENT, params, concurrency, generator)

    n, errors = benchmark.pedantic(once, setup=_collect, rounds=request.config.getoption("--micro-rounds"),
                                   iterations=1, warmup_rounds=1)
    assert (n, errors) == (len(params), 0)


def _collect():
    gc.collect()  # returns a count, which pedantic() would take for (args, kwargs)
