"""Type stub of the compiled executor: the same public signatures as ``_concurrent_py``.

tests/test_packaging.py checks that the parameter names and kinds here match
both implementations at run time.
"""

from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from typing import Any

from cassandra.concurrent import ExecutionResult as ExecutionResult

__all__ = [
    "ExecutionResult",
    "execute_concurrent",
    "execute_concurrent_async",
    "execute_concurrent_with_args",
]

def execute_concurrent(
    session: Any,
    statements_and_parameters: Iterable[Any],
    concurrency: int = 100,
    raise_on_first_error: bool = True,
    results_generator: bool = False,
    execution_profile: Any = ...,
    *,
    timeout: float | None = None,
) -> list[ExecutionResult] | Iterator[ExecutionResult]: ...
def execute_concurrent_with_args(
    session: Any,
    statement: Any,
    parameters: Iterable[Any],
    *args: Any,
    **kwargs: Any,
) -> Any: ...
def execute_concurrent_async(
    session: Any,
    statements_and_parameters: Iterable[Any],
    concurrency: int = 100,
    raise_on_first_error: bool = False,
    execution_profile: Any = ...,
    *,
    timeout: float | None = None,
) -> Future[list[ExecutionResult]]: ...
