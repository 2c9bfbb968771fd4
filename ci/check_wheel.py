#!/usr/bin/env python3
"""Check a built wheel's contents.

    ci/check_wheel.py [--pure] [--manylinux] WHEEL

Always: the package, its pure executor, py.typed and the stub are inside; no
.pyx/.pxd/.c/.h source, no tests, no test server, no other top-level
package; the metadata names the version in concurrent_ext/_version.py.
By default the compiled executor must be inside (exactly one); --pure wants
none.  --manylinux wants a manylinux or musllinux tag in the file name
(auditwheel repaired it).
"""
from __future__ import annotations

import argparse
import email.parser
import re
import sys
import zipfile
from pathlib import PurePosixPath

REQUIRED = [
    "concurrent_ext/__init__.py",
    "concurrent_ext/_version.py",
    "concurrent_ext/_concurrent_py.py",
    "concurrent_ext/_concurrent_c.pyi",
    "concurrent_ext/py.typed",
]
COMPILED = re.compile(r"^concurrent_ext/_concurrent_c(\.[\w-]+)?\.(so|pyd)$")
SOURCE_SUFFIXES = {".pyx", ".pxd", ".pxi", ".c", ".h", ".cpp", ".html"}


def problems(path: str, pure: bool, manylinux: bool) -> list[str]:
    found: list[str] = []
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        dist_info = sorted({n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")})
        if len(dist_info) != 1:
            return [f"expected one .dist-info folder, found {dist_info}"]
        meta = email.parser.Parser().parsestr(zf.read(f"{dist_info[0]}/METADATA").decode())
        version_py = zf.read("concurrent_ext/_version.py").decode() if "concurrent_ext/_version.py" in names else ""
    found += [f"missing {name}" for name in REQUIRED if name not in names]
    compiled = [n for n in names if COMPILED.match(n)]
    if pure and compiled:
        found.append(f"pure wheel contains the compiled module: {compiled}")
    if not pure and len(compiled) != 1:
        found.append(f"expected exactly one compiled concurrent_ext/_concurrent_c, found {compiled}")
    found += [f"source file leaked into the wheel: {n}" for n in names if PurePosixPath(n).suffix in SOURCE_SUFFIXES]
    tops = {n.split("/")[0] for n in names} - {"concurrent_ext", *dist_info}
    if tops:
        found.append(f"unexpected top-level entries: {sorted(tops)}")
    match = re.search(r"""__version__\s*=\s*["']([^"']+)["']""", version_py)
    if meta["Name"] != "concurrent-ext":
        found.append(f"metadata Name is {meta['Name']!r}")
    if not match or meta["Version"] != match.group(1):
        found.append(f"metadata Version {meta['Version']!r} differs from concurrent_ext/_version.py")
    if not any(r.startswith("scylla-driver") for r in meta.get_all("Requires-Dist") or []):
        found.append("metadata does not require scylla-driver")
    platform_tags = PurePosixPath(path).stem.split("-")[-1].split(".")
    if manylinux and not any(t.startswith(("manylinux", "musllinux")) for t in platform_tags):
        found.append("the file name has no manylinux/musllinux tag (auditwheel repair not run?)")
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pure", action="store_true", help="the wheel must NOT contain the compiled module")
    ap.add_argument("--manylinux", action="store_true", help="the file name must carry a manylinux/musllinux tag")
    ap.add_argument("wheels", nargs="+")
    args = ap.parse_args()
    status = 0
    for wheel in args.wheels:
        found = problems(wheel, args.pure, args.manylinux)
        for problem in found:
            print(f"{wheel}: {problem}", file=sys.stderr)
        if found:
            status = 1
        else:
            print(f"{wheel}: OK ({'pure' if args.pure else 'compiled'})")
    return status


if __name__ == "__main__":
    sys.exit(main())
