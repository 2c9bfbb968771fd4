"""Property: where semantics agree, the compiled module, the pure module and
the driver's ``cassandra.concurrent`` return identical results."""
from __future__ import annotations

import cassandra.concurrent
import pytest
from fake_driver import FakeSession
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.timeout(300)

outcomes = st.lists(st.sampled_from(["ok", "ok", "ok", "none", "error", "raise"]), max_size=60)


def scenario(kinds):
    """Fixed objects per statement, so results can be compared by identity."""
    values = []
    for i, kind in enumerate(kinds):
        if kind == "ok":
            values.append(("ok", [("row", i)]))
        elif kind == "none":
            values.append(("ok", None))
        else:
            values.append((kind, RuntimeError(f"statement {i}")))
    return lambda statement, params: values[params]


def observe(module, outcome, count, mode, concurrency, fail_fast, generator):
    session = FakeSession(mode, outcome=outcome, batch=3)
    try:
        out = module.execute_concurrent(session, [("q", i) for i in range(count)], concurrency,
                                        fail_fast, generator)
        return "returned", [(r.success, r.result_or_exc.current_rows if r.success else r.result_or_exc)
                            for r in out]
    except RuntimeError as exc:
        return "raised", exc
    finally:
        session.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=outcomes, concurrency=st.integers(1, 8), generator=st.booleans(),
       mode=st.sampled_from(["inline", "thread", "reverse", "random"]))
def test_same_results_as_upstream_when_collecting_failures(impl, kinds, concurrency, generator, mode):
    outcome = scenario(kinds)
    expected = observe(cassandra.concurrent, outcome, len(kinds), mode, concurrency, False, generator)
    assert observe(impl.module, outcome, len(kinds), mode, concurrency, False, generator) == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=outcomes, concurrency=st.integers(1, 8), generator=st.booleans())
def test_same_first_error_as_upstream(impl, kinds, concurrency, generator):
    # Synchronous completion makes "the first failure seen" the same for all.
    outcome = scenario(kinds)
    expected = observe(cassandra.concurrent, outcome, len(kinds), "inline", concurrency, True, generator)
    assert observe(impl.module, outcome, len(kinds), "inline", concurrency, True, generator) == expected
