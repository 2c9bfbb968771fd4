"""python -m bench.threads: where the client's CPU goes, per thread and in the collector.

    python -m bench.threads [--statements 20000] [--concurrency 100] [--repeat 3] [--json FILE]

Against the embedded loopback server, prepared INSERT, every implementation
(bare loop, c, py, driver) in generator and list mode, plus list mode with the
cyclic GC disabled for the call (c and the bare loop: a diagnostic of what the
collector costs, not how users run), interleaved and shuffled per repetition.
Per run it reads:

* the CPU time of each client thread from /proc/self/task/<tid>/schedstat
  (nanoseconds): the calling thread, and all others together (the driver's
  event-loop thread does nearly all of that);
* the time spent in the cyclic collector and the collections per generation,
  from gc.callbacks;

and, once per implementation outside the timed runs, how many GC-tracked
objects a list-mode result keeps alive per statement.  docs/design.md shows
bench/results/threads.json (python -m bench.publish rewrites it).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import threading
import time

from bench import e2e, envinfo, impls
from bench.e2e import BenchError
from bench.report import render_table

JOBS = [(mode, impl, True) for mode in ("generator", "list") for impl in impls.ALL] + [
    ("list", "c", False), ("list", "bare", False)]
KEPT_STATEMENTS = 2_000


def thread_cpu_ns():
    """{tid: CPU ns} of every thread of this process."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open("/proc/self/task/%s/schedstat" % tid) as fh:
                out[int(tid)] = int(fh.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # the thread ended meanwhile
    return out


class CollectorClock:
    """Time in the cyclic GC and collections per generation, from gc.callbacks."""

    def __init__(self):
        self.seconds = 0.0
        self.collections = [0, 0, 0]
        self._t0 = 0.0

    def __call__(self, phase, info):
        if phase == "start":
            self._t0 = time.thread_time()  # CPU: the collector runs on the thread that triggered it
        else:
            self.seconds += time.thread_time() - self._t0
            self.collections[info["generation"]] += 1

    def __enter__(self):
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc):
        gc.callbacks.remove(self)


def run_one(runner, session, statement, params, concurrency, mode, gc_on):
    gc.collect()
    me = threading.get_native_id()
    before = thread_cpu_ns()
    if not gc_on:
        gc.disable()
    try:
        with CollectorClock() as clock:
            t0 = time.perf_counter()
            n, errors = runner(session, statement, params, concurrency, mode == "generator")
            wall = time.perf_counter() - t0
    finally:
        if not gc_on:
            gc.enable()
    after = thread_cpu_ns()
    if n != len(params) or errors:
        raise BenchError("%d results, %d errors for %d statements" % (n, errors, len(params)))
    spent = {tid: ns - before.get(tid, 0) for tid, ns in after.items()}
    calling = spent.pop(me, 0)
    return {"wall_s": wall, "calling_ns": calling, "others_ns": sum(spent.values()),
            "gc_s": clock.seconds, "collections": clock.collections}


def kept_per_statement(tag, session, statement):
    """GC-tracked objects that one list-mode call's results keep alive, per statement."""
    if tag == "bare":
        return 0.0
    ecwa = __import__(impls.MODULES[tag], fromlist=["x"]).execute_concurrent_with_args
    params = e2e.make_params("insert", KEPT_STATEMENTS)
    gc.collect()
    before = len(gc.get_objects())
    results = ecwa(session, statement, params, concurrency=100, raise_on_first_error=False)
    gc.collect()
    kept = len(gc.get_objects()) - before
    del results
    return kept / KEPT_STATEMENTS


def summarize(samples, statements):
    rows = []
    for (mode, impl, gc_on), runs in samples.items():
        def us(ns):  # ns per run -> µs per statement
            return ns / statements / 1e3

        rows.append({
            "mode": mode, "impl": impl, "gc": gc_on,
            "ops": statistics.median(statements / r["wall_s"] for r in runs),
            "calling_us": us(statistics.median(r["calling_ns"] for r in runs)),
            "others_us": us(statistics.median(r["others_ns"] for r in runs)),
            "total_us": us(statistics.median(r["calling_ns"] + r["others_ns"] for r in runs)),
            "gc_us": statistics.median(r["gc_s"] for r in runs) / statements * 1e6,
            "collections": [statistics.median(r["collections"][g] for r in runs) for g in range(3)],
        })
    return rows


def table(rows, kept, markdown=False):
    head = ["mode", "impl", "ops/s", "calling thread µs/op", "other threads µs/op", "client total µs/op",
            "CPU in the GC µs/op", "collections gen 0/1/2", "objects kept per statement"]
    body = []
    for r in rows:
        label = r["impl"] + ("" if r["gc"] else ", GC off")
        body.append([r["mode"], label, "%.0f" % r["ops"], "%.1f" % r["calling_us"], "%.1f" % r["others_us"],
                     "%.1f" % r["total_us"], "%.1f" % r["gc_us"], "/".join("%g" % c for c in r["collections"]),
                     "%.1f" % kept[r["impl"]] if r["mode"] == "list" and r["gc"] else ""])
    return render_table(head, body, markdown, left=2)


def markdown(doc, command):
    """The docs/design.md section, from a result file."""
    return "\n".join([
        "From `bench/results/threads.json`, made by `%s` (%s): prepared INSERT, %d statements, concurrency %d, "
        "medians of %d interleaved repetitions; CPU per client thread from `/proc/self/task/*/schedstat`, CPU in "
        "the collector from `gc.callbacks`; objects kept: GC-tracked objects alive per statement while a "
        "list-mode result of %d statements is held." % (command, envinfo.one_line(doc["environment"]),
                                                         doc["statements"], doc["concurrency"], doc["repeat"],
                                                         KEPT_STATEMENTS), "",
        table(doc["rows"], doc["kept_per_statement"], markdown=True)])


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.threads", description=__doc__.split("\n\n")[0])
    ap.add_argument("--statements", type=int, default=20_000)
    ap.add_argument("--concurrency", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    if min(args.statements, args.concurrency, args.repeat) <= 0:
        ap.error("--statements, --concurrency and --repeat must be > 0")
    import logging
    logging.basicConfig(level=logging.ERROR)
    runners, skipped = impls.load(impls.ALL)
    if skipped:
        print("error: %s" % "; ".join(skipped.values()), file=sys.stderr)
        return 1
    from bench.__main__ import start_server
    env = envinfo.collect()
    cluster = server = None
    t_start = time.perf_counter()
    try:
        server = start_server()
        server_desc = "embedded CQLServer(process=True) on %s:%d" % (server.host, server.port)
        print(envinfo.header(env, server_desc), flush=True)
        cluster, session = e2e.connect([server.host], server.port, embedded=True)
        statement = e2e.prepare(session, "concurrent_ext_bench", "kv")["insert"]
        params = e2e.make_params("insert", args.statements)
        kept = {tag: kept_per_statement(tag, session, statement) for tag in impls.ALL}
        for mode, impl, _ in JOBS:  # warm-up
            runners[impl](session, statement, params[:2000], args.concurrency, mode == "generator")
        rng = random.Random(args.seed)
        samples = {}
        for rep in range(args.repeat):
            jobs = list(JOBS)
            rng.shuffle(jobs)
            for job in jobs:
                mode, impl, gc_on = job
                samples.setdefault(job, []).append(
                    run_one(runners[impl], session, statement, params, args.concurrency, mode, gc_on))
            print("repetition %d/%d done" % (rep + 1, args.repeat), file=sys.stderr, flush=True)
    except BenchError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    finally:
        if cluster is not None:
            cluster.shutdown()
        if server is not None:
            server.stop()
    rows = sorted(summarize(samples, args.statements),
                  key=lambda r: (r["mode"] != "generator", not r["gc"], impls.ALL.index(r["impl"])))
    print()
    print(table(rows, kept))
    doc = {"environment": env, "server": server_desc, "statements": args.statements,
           "concurrency": args.concurrency, "repeat": args.repeat, "elapsed_s": round(time.perf_counter() - t_start),
           "kept_per_statement": kept, "rows": rows,
           "samples": {"%s/%s/%s" % (m, i, "gc" if g else "nogc"): v for (m, i, g), v in samples.items()}}
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(doc, fh, indent=1)
        print("wrote %s" % args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
