"""The implementations under comparison, loaded missing-safe.

Tags: ``c`` (concurrent_ext._concurrent_c), ``py`` (concurrent_ext._concurrent_py),
``driver`` (the driver's own, compiled, cassandra.concurrent) and ``bare``
(the leanest hand-written loop, bench.ceiling).  Every runner has the same
signature, ``run(session, statement, params, concurrency, generator) ->
(results, errors)``, and all of them consume every result.
"""
from __future__ import annotations

import importlib
from typing import Callable, Dict, Iterable, Sequence, Tuple

from bench import ceiling

MODULES = {
    "c": "concurrent_ext._concurrent_c",
    "py": "concurrent_ext._concurrent_py",
    "driver": "cassandra.concurrent",
}
ALL = ("c", "py", "driver", "bare")
EXECUTORS = ("c", "py", "driver")

Runner = Callable[[object, object, Iterable, int, bool], Tuple[int, int]]


def executor_runner(module) -> Runner:
    """Wrap an execute_concurrent_with_args; list or generator mode."""
    ecwa = module.execute_concurrent_with_args

    def run(session, statement, params, concurrency, generator):
        if generator:
            n = ok = 0
            for success, _ in ecwa(session, statement, params, concurrency=concurrency,
                                   raise_on_first_error=False, results_generator=True):
                n += 1
                if success:
                    ok += 1
            return n, n - ok
        results = ecwa(session, statement, params, concurrency=concurrency,
                       raise_on_first_error=False)
        n = len(results)
        ok = 0
        for r in results:
            if r[0]:
                ok += 1
        del results
        return n, n - ok

    return run


def load(tags: Sequence[str]) -> Tuple[Dict[str, Runner], Dict[str, str]]:
    """Return (runners, skipped) where skipped maps tag -> reason."""
    runners: Dict[str, Runner] = {}
    skipped: Dict[str, str] = {}
    for tag in tags:
        if tag == "bare":
            runners[tag] = ceiling.run
            continue
        try:
            module = importlib.import_module(MODULES[tag])
            runners[tag] = executor_runner(module)
        except Exception as exc:  # ImportError, or a broken package __init__
            skipped[tag] = "cannot import %s: %s: %s" % (MODULES[tag], type(exc).__name__, exc)
    return runners, skipped


def module_file(tag: str) -> str:
    try:
        return getattr(importlib.import_module(MODULES[tag]), "__file__", "?") or "?"
    except Exception:
        return "unavailable"


def parse_tags(text: str) -> list:
    tags = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in tags if t not in ALL]
    if bad or not tags:
        raise ValueError("unknown implementation(s) %s; choose from %s" % (",".join(bad) or "''", ",".join(ALL)))
    return list(dict.fromkeys(tags))
