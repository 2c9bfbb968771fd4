"""python -m bench.one: loop one end-to-end cell, for profilers.

    python -m bench.one --impl c --workload insert --concurrency 100 --mode list \\
        [--statements 20000] [--loops 10] [--cprofile FILE.pstats]

Starts the embedded server, then runs the same (impl, workload,
concurrency, mode) --loops times, printing ops/s and client CPU µs/op of
each run.  Attach a sampling profiler to it, for instance
``py-spy record --native -o c.svg -- python -m bench.one --impl c ...``
(py-spy samples this process only, not the server's), or pass --cprofile
to run it under cProfile (Cython functions then appear as opaque builtins).
"""
from __future__ import annotations

import argparse
import sys
import time

from bench import e2e, impls
from bench.e2e import BenchError


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.one", description=__doc__.split("\n\n")[0])
    ap.add_argument("--impl", choices=impls.ALL, required=True)
    ap.add_argument("--workload", choices=e2e.WORKLOADS, default="insert")
    ap.add_argument("--concurrency", type=int, default=100)
    ap.add_argument("--mode", choices=e2e.MODES, default="list")
    ap.add_argument("--statements", type=int, default=20_000)
    ap.add_argument("--loops", type=int, default=10)
    ap.add_argument("--row-factory", choices=e2e.ROW_FACTORIES, default="named_tuple")
    ap.add_argument("--no-gc", action="store_true",
                    help="gc.disable() during the runs (shows what the cyclic GC costs; not for reporting)")
    ap.add_argument("--cprofile", metavar="FILE", help="profile the loops with cProfile, dump stats to FILE")
    args = ap.parse_args(argv)
    if min(args.concurrency, args.statements, args.loops) <= 0:
        ap.error("--concurrency, --statements and --loops must be > 0")
    import logging
    logging.basicConfig(level=logging.ERROR)
    runners, skipped = impls.load([args.impl])
    if skipped:
        print("error: %s" % skipped[args.impl], file=sys.stderr)
        return 1
    from bench.__main__ import start_server
    try:
        server = start_server()
    except BenchError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    cluster = None
    try:
        cluster, session = e2e.connect([server.host], server.port, embedded=True, row_factory=args.row_factory)
        statements = e2e.prepare(session, "concurrent_ext_bench", "kv")
        if args.workload == "select":
            e2e.preload(session, statements, args.statements, impls.load(["bare"])[0]["bare"])
        params = e2e.make_params(args.workload, args.statements)
        run = runners[args.impl]
        stmt = statements[args.workload]
        gen = args.mode == "generator"

        def loops():
            if args.no_gc:
                import gc
                gc.disable()
            for i in range(args.loops):
                s = e2e.run_sample(run, session, stmt, [params], args.concurrency, gen, server, i,
                                   args.workload, args.impl, args.mode)
                print("%2d  %8.0f ops/s  client %6.1f µs/op  server %5.1f µs/op  errors %d"
                      % (i, s.ops, s.cpu_s / s.n * 1e6, s.server_cpu_s / s.n * 1e6, s.errors), flush=True)

        if args.cprofile:
            import cProfile
            prof = cProfile.Profile()
            t0 = time.perf_counter()
            prof.runcall(loops)
            prof.dump_stats(args.cprofile)
            print("wrote %s (%.0f s)" % (args.cprofile, time.perf_counter() - t0))
        else:
            loops()
    except BenchError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    finally:
        if cluster is not None:
            cluster.shutdown()
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
