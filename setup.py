"""Builds the optional Cython executor; all metadata lives in pyproject.toml."""
import os

from setuptools import Extension, setup


def _flag(name):
    return os.environ.get(name, "") not in ("", "0")


ext_modules = []
if not _flag("CONCURRENT_EXT_NO_EXTENSIONS"):
    from Cython.Build import cythonize

    ext_modules = cythonize(
        [Extension("concurrent_ext._concurrent_c", ["concurrent_ext/_concurrent_c.pyx"])],
        compiler_directives={"language_level": "3"},
    )

setup(ext_modules=ext_modules)
