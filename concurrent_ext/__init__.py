"""Drop-in, faster and bounded replacement for ``cassandra.concurrent``.

The compiled executor (``_concurrent_c``) is used when it is importable; the
pure-Python twin (``_concurrent_py``) otherwise, or when
``CONCURRENT_EXT_NO_EXTENSIONS`` is set to anything but "" or "0".
``USE_EXTENSIONS`` says which one is running.
"""
import os
from typing import TYPE_CHECKING

from concurrent_ext._version import __version__

NO_EXTENSIONS = os.environ.get("CONCURRENT_EXT_NO_EXTENSIONS", "") not in ("", "0")

if TYPE_CHECKING or NO_EXTENSIONS:
    from concurrent_ext._concurrent_py import (
        ExecutionResult,
        execute_concurrent,
        execute_concurrent_async,
        execute_concurrent_with_args,
    )

    USE_EXTENSIONS = False
else:
    try:
        from concurrent_ext._concurrent_c import (
            ExecutionResult,
            execute_concurrent,
            execute_concurrent_async,
            execute_concurrent_with_args,
        )

        USE_EXTENSIONS = True
    except ImportError as exc:
        # Fall back only when the compiled module itself is missing; an
        # ImportError raised inside it is a real bug and must surface.
        if exc.name != "concurrent_ext._concurrent_c":
            raise
        from concurrent_ext._concurrent_py import (
            ExecutionResult,
            execute_concurrent,
            execute_concurrent_async,
            execute_concurrent_with_args,
        )

        USE_EXTENSIONS = False

from concurrent_ext._install import install, uninstall  # noqa: E402

__all__ = [
    "ExecutionResult",
    "USE_EXTENSIONS",
    "__version__",
    "execute_concurrent",
    "execute_concurrent_async",
    "execute_concurrent_with_args",
    "install",
    "uninstall",
]
