"""Benchmarks for concurrent_ext (not shipped in the wheel).

``python -m bench``           loopback end-to-end benchmark (see ``--help``)
``python -m bench.memory``    peak-RSS benchmark of generator mode
``python -m bench.micro``     executor overhead with fake futures, interleaved
``pytest bench/test_micro.py --benchmark-only``  the same with pytest-benchmark

See docs/benchmarks.md.
"""
