"""Benchmarks for concurrent_ext (not shipped in the wheel).

``python -m bench``           loopback end-to-end benchmark (see ``--help``)
``python -m bench.memory``    peak-RSS benchmark of generator mode
``python -m bench.micro``     executor overhead with fake futures, interleaved

See docs/benchmarks.md.
"""
