"""Benchmarks for concurrent_ext (not shipped in the wheel).

``python -m bench``           loopback end-to-end benchmark (see ``--help``)
``python -m bench.memory``    peak-RSS benchmark of generator mode
``python -m bench.micro``     executor overhead with fake futures, interleaved
``python -m bench.threads``   client CPU per thread and in the cyclic GC
``python -m bench.publish``   regenerate the documented tables from bench/results/

See docs/benchmarks.md.
"""
