"""Options of the pytest-benchmark micro-benchmark (bench/test_micro.py)."""


def pytest_addoption(parser):
    group = parser.getgroup("concurrent_ext micro-benchmark")
    group.addoption("--micro-statements", type=int, default=100_000,
                    help="statements per executor call (default 100000)")
    group.addoption("--micro-concurrency", type=int, default=100, help="concurrency (default 100)")
    group.addoption("--micro-rounds", type=int, default=5, help="rounds per benchmark (default 5)")
