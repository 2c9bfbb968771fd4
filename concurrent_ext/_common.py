"""Objects and argument checks shared by both executors.

Both implementations import these, so ``ExecutionResult`` and the
``EXEC_PROFILE_DEFAULT`` sentinel are the driver's very objects whichever
executor is in use.
"""
from __future__ import annotations

import operator
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, InvalidStateError
from itertools import repeat
from typing import Any

from cassandra.cluster import EXEC_PROFILE_DEFAULT, ResultSet
from cassandra.concurrent import ExecutionResult

__all__ = ["EXEC_PROFILE_DEFAULT", "ExecutionResult", "ResultSet", "check_concurrency", "iterate_input",
           "run_in_thread", "with_args"]


MAX_CONCURRENCY = sys.maxsize // 4


def check_concurrency(concurrency: Any) -> int:
    """Return ``concurrency`` as an int, or raise as upstream does (and a bit clearer)."""
    try:
        value = operator.index(concurrency)
    except TypeError:
        raise TypeError(
            f"concurrency must be an integer, not {type(concurrency).__name__}"
        ) from None
    if value <= 0:
        raise ValueError("concurrency must be greater than 0")
    # No input can fill a larger window; the cap keeps the executors' ring
    # capacity (up to 4 x concurrency) within a C Py_ssize_t.
    return min(value, MAX_CONCURRENCY)


def iterate_input(statements_and_parameters: Iterable[Any]) -> Iterator[Any]:
    """``iter()`` the input, naming the argument when it is not iterable."""
    try:
        return iter(statements_and_parameters)
    except TypeError:
        raise TypeError(
            "statements_and_parameters must be an iterable of (statement, parameters) "
            f"pairs, not {type(statements_and_parameters).__name__}"
        ) from None


def with_args(statement: Any, parameters: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
    """The ``(statement, params)`` pairs of ``execute_concurrent_with_args``."""
    try:
        return zip(repeat(statement), parameters)
    except TypeError:
        raise TypeError(f"parameters must be an iterable, not {type(parameters).__name__}") from None


def run_in_thread(future: Future[Any], run: Callable[[], Any], stop: Callable[[], None]) -> None:
    """Settle ``future`` with ``run()`` from a daemon thread; cancelling it calls ``stop``."""
    future.add_done_callback(lambda _: stop())
    threading.Thread(target=_settle, args=(future, run), name="concurrent_ext-async",
                     daemon=True).start()


def _settle(future: Future[Any], run: Callable[[], Any]) -> None:
    try:
        try:
            results = run()
        except BaseException as exc:  # noqa: BLE001 - handed to the Future
            future.set_exception(exc)
        else:
            future.set_result(results)
    except InvalidStateError:  # cancelled meanwhile: nobody wants the outcome
        pass
