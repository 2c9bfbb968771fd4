#!/usr/bin/env python3
"""Check that cibuildwheel would build exactly the wheels we mean to ship.

    ci/check_matrix.py            compare with ci/build-identifiers.txt
    ci/check_matrix.py --update   rewrite that file from cibuildwheel's answer

Asks `cibuildwheel --print-build-identifiers` (with the [tool.cibuildwheel]
settings of pyproject.toml) once per platform and architecture that
.github/workflows/wheels.yml builds on, then compares the union with the
committed list, and independently rejects PyPy/GraalPy, 32-bit and
free-threaded identifiers.  Needs only cibuildwheel (no Docker).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = ROOT / "ci" / "build-identifiers.txt"
# (platform, --archs) = one runner of the workflow each.  Windows keeps
# cibuildwheel's "auto" on AMD64 (AMD64 + x86), so the skip of win32 is tested.
RUNS = [
    ("linux", "x86_64"),  # ubuntu-24.04
    ("linux", "aarch64"),  # ubuntu-24.04-arm
    ("macos", "x86_64"),  # macos-15-intel
    ("macos", "arm64"),  # macos-14
    ("windows", "auto"),  # windows-latest
]
FORBIDDEN = re.compile(r"^(pp|gp)|[-_](i686|win32)$|^cp3\d+t-")


def identifiers() -> list[str]:
    found: set[str] = set()
    for platform, archs in RUNS:
        out = subprocess.run(
            [sys.executable, "-m", "cibuildwheel", "--print-build-identifiers", "--platform", platform,
             "--archs", archs, str(ROOT)],
            cwd=ROOT, check=True, capture_output=True, text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("CIBW_")},  # pyproject.toml alone
        ).stdout.split()
        if not out:
            sys.exit(f"cibuildwheel selected nothing for {platform}/{archs}")
        found.update(out)
    return sorted(found)


def main() -> int:
    got = identifiers()
    if sys.argv[1:] == ["--update"]:
        header = "# Wheels .github/workflows/wheels.yml builds; checked by ci/check_matrix.py (--update rewrites).\n"
        EXPECTED.write_text(header + "".join(f"{i}\n" for i in got))
        print(f"wrote {len(got)} identifiers to {EXPECTED.relative_to(ROOT)}")
        return 0
    status = 0
    bad = [i for i in got if FORBIDDEN.search(i)]
    if bad:
        print(f"PyPy/GraalPy, 32-bit or free-threaded builds selected: {bad}", file=sys.stderr)
        status = 1
    want = [line.strip() for line in EXPECTED.read_text().splitlines() if line.strip() and not line.startswith("#")]
    missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    if missing or extra:
        print(f"build identifiers differ from {EXPECTED.relative_to(ROOT)}:", file=sys.stderr)
        for i in missing:
            print(f"  - {i} (expected, not selected)", file=sys.stderr)
        for i in extra:
            print(f"  + {i} (selected, not expected)", file=sys.stderr)
        print("if intended: ci/check_matrix.py --update", file=sys.stderr)
        status = 1
    if not status:
        print(f"{len(got)} build identifiers, as expected:")
        print("  " + " ".join(got))
    return status


if __name__ == "__main__":
    sys.exit(main())
