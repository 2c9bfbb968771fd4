"""Builds the optional Cython executor; all metadata lives in pyproject.toml.

Environment ("" and "0" mean unset):
  CONCURRENT_EXT_NO_EXTENSIONS=1       pure-Python build, nothing is compiled
  CONCURRENT_EXT_REQUIRE_EXTENSIONS=1  a missing Cython or a failed compile is an error
Otherwise a missing Cython or a failed compile degrades to the pure-Python
module (with a banner); the package then runs its ``_concurrent_py`` twin.
"""
import os
import platform
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _flag(name):
    return os.environ.get(name, "") not in ("", "0")


NO_EXTENSIONS = _flag("CONCURRENT_EXT_NO_EXTENSIONS")
REQUIRE = _flag("CONCURRENT_EXT_REQUIRE_EXTENSIONS")
MODULE = "concurrent_ext._concurrent_c"


def _banner(title, why):
    bar = "*" * 72
    print(f"\n{bar}\n* {title} *\n* {why}\n{bar}\n", file=sys.stderr, flush=True)


def _degrade(why):
    if REQUIRE:
        sys.exit(f"error: CONCURRENT_EXT_REQUIRE_EXTENSIONS is set, but {why}")
    _banner("Pure Python build", f"{why}; concurrent_ext will use its pure-Python executor")


class BuildExt(build_ext):
    """Tolerates toolchain errors unless CONCURRENT_EXT_REQUIRE_EXTENSIONS is set."""

    def run(self):
        self.failed = []
        try:
            super().run()
        except Exception as exc:  # e.g. DistutilsPlatformError: no compiler at all
            if REQUIRE:
                raise
            self.failed.append(f"{type(exc).__name__}: {exc}")
        if self.extensions:
            if self.failed:
                _degrade(f"building {MODULE} failed ({'; '.join(self.failed)})")
            else:
                _banner("Accelerated build", f"{MODULE} compiled")

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            # Re-raised: setuptools skips it with a warning because ext.optional.
            self.failed.append(f"{type(exc).__name__}: {exc}")
            raise


def _extensions():
    if NO_EXTENSIONS:
        if REQUIRE:
            sys.exit("error: CONCURRENT_EXT_NO_EXTENSIONS and CONCURRENT_EXT_REQUIRE_EXTENSIONS are both set")
        _banner("Pure Python build", "CONCURRENT_EXT_NO_EXTENSIONS is set")
        return []
    if platform.python_implementation() != "CPython" and not REQUIRE:
        _banner("Pure Python build", f"{platform.python_implementation()} is not CPython")
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        _degrade("Cython is not installed")
        return []
    exts = cythonize(
        [Extension(MODULE, ["concurrent_ext/_concurrent_c.pyx"])],
        compiler_directives={"language_level": "3"},
        exclude_failures=not REQUIRE,
    )
    if not exts:
        _degrade("Cython failed to translate concurrent_ext/_concurrent_c.pyx")
    for ext in exts:
        ext.optional = not REQUIRE  # cythonize() rebuilds Extensions and drops `optional`
    return exts


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExt})
