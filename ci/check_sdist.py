#!/usr/bin/env python3
"""Check an sdist: everything a wheel and its tests are built from, nothing built.

    ci/check_sdist.py SDIST.tar.gz
"""
from __future__ import annotations

import sys
import tarfile
from pathlib import PurePosixPath

REQUIRED = [
    "PKG-INFO",
    "pyproject.toml",
    "setup.py",
    "CHANGELOG.md",
    "concurrent_ext/__init__.py",
    "concurrent_ext/_version.py",
    "concurrent_ext/_concurrent_c.pyx",
    "concurrent_ext/_concurrent_c.pyi",
    "concurrent_ext/_concurrent_py.py",
    "concurrent_ext/py.typed",
    "loopback/pyproject.toml",  # the test server cibuildwheel's before-test installs
    "loopback/cql_loopback/__init__.py",
    "tests/conftest.py",  # cibuildwheel's test-sources come from the sdist
]
BUILT_SUFFIXES = {".so", ".pyd", ".pyc", ".o", ".whl"}


def main() -> int:
    (path,) = sys.argv[1:]
    with tarfile.open(path) as tf:
        names = [m.name for m in tf.getmembers() if m.isfile()]
    roots = {n.split("/")[0] for n in names}
    if len(roots) != 1:
        print(f"{path}: expected one top folder, found {sorted(roots)}", file=sys.stderr)
        return 1
    rel = {n.split("/", 1)[1] for n in names if "/" in n}
    found = [f"missing {name}" for name in REQUIRED if name not in rel]
    found += [f"build product in the sdist: {n}" for n in sorted(rel) if PurePosixPath(n).suffix in BUILT_SUFFIXES]
    generated = [n for n in sorted(rel) if n.startswith("concurrent_ext/") and n.endswith(".c")]
    found += [f"generated C in the sdist: {n}" for n in generated]
    found += [f"cache in the sdist: {n}" for n in sorted(rel) if "__pycache__" in n or "/.hypothesis/" in n]
    for problem in found:
        print(f"{path}: {problem}", file=sys.stderr)
    if not found:
        print(f"{path}: OK ({len(rel)} files)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
