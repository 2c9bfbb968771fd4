"""``install()`` / ``uninstall()``: make existing code that calls
``cassandra.concurrent`` use concurrent_ext without changing it.

Limit: a name bound before ``install()`` (``from cassandra.concurrent import
execute_concurrent`` at the top of a module) keeps the driver's function;
call ``install()`` before such imports, or import from ``concurrent_ext``.
"""
from __future__ import annotations

import threading
from typing import Any

import cassandra.cluster
import cassandra.concurrent

_FUNCTIONS = ("execute_concurrent", "execute_concurrent_with_args", "execute_concurrent_async")
_saved: dict[tuple[Any, str], Any] = {}  # (owner, name) -> what install() replaced
_lock = threading.Lock()


def install() -> None:
    """Replace the functions of ``cassandra.concurrent``, and the
    ``Session.execute_concurrent*`` methods where the installed driver has
    them, with concurrent_ext's.  Calling it again does nothing."""
    import concurrent_ext

    with _lock:
        if _saved:
            return
        session_class = cassandra.cluster.Session
        for name in _FUNCTIONS:
            ours = getattr(concurrent_ext, name)
            if hasattr(cassandra.concurrent, name):
                _replace(cassandra.concurrent, name, ours)
            if name in vars(session_class):
                _replace(session_class, name, _as_method(ours))


def uninstall() -> None:
    """Put back what ``install()`` replaced.  Calling it again does nothing."""
    with _lock:
        for (owner, name), original in _saved.items():
            setattr(owner, name, original)
        _saved.clear()


def installed() -> bool:
    """Whether ``install()`` is in effect."""
    return bool(_saved)


def _replace(owner: Any, name: str, replacement: Any) -> None:
    _saved[(owner, name)] = getattr(owner, name)
    setattr(owner, name, replacement)


def _as_method(function: Any) -> Any:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return function(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = function.__name__
    method.__doc__ = function.__doc__
    return method
