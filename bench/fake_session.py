"""The project's one fake session, tests/fake_driver.py, for benchmarks.

tests/ is no package (ci/test copies it alone, to run it outside the source
tree), so the module is loaded by path.  Benchmarks use its ``fast`` mode:

    from bench.fake_session import FakeSession
    session = FakeSession("fast")
    try: ... finally: session.close()
"""
from __future__ import annotations

import importlib.util
import os

from bench.envinfo import REPO

_PATH = os.path.join(REPO, "tests", "fake_driver.py")
_spec = importlib.util.spec_from_file_location("fake_driver", _PATH)
fake_driver = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake_driver)

FakeSession = fake_driver.FakeSession
FakeFuture = fake_driver.FakeFuture
