"""python -m bench.memory: peak RSS of generator mode with a slow consumer.

Each implementation runs in its OWN subprocess (so ru_maxrss is its own
peak) against one embedded CQLServer process: first a small baseline run
(--baseline statements, default 10,000), then the big one (--statements,
default 1,000,000).  Parameters come from a lazy generator, the consumer
is paced at --consumer-rate items/s (slower than the server), so an executor
without backpressure piles results up.  Target: c and py stay within 16 MiB
of their baseline peak; the driver is expected to grow.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from bench import e2e, envinfo, impls
from bench.e2e import BenchError

LIMIT_MIB = 16.0


def _rss_mib():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


# -- worker (one implementation, one size, own process) ---------------------
def worker(args):
    runners, skipped = impls.load([args.impl])
    if skipped:
        return {"impl": args.impl, "skipped": skipped[args.impl]}
    module = __import__(impls.MODULES[args.impl], fromlist=["execute_concurrent_with_args"])
    ecwa = module.execute_concurrent_with_args
    cluster, session = e2e.connect([args.host], args.port, embedded=True)
    stmt = session.prepare("INSERT INTO %s.%s (k, v) VALUES (?, ?)" % (args.keyspace, args.table))
    session.execute(stmt, (0, e2e.VALUE))
    value = e2e.VALUE
    n = args.statements
    rate = float(args.consumer_rate)
    rss_start = _rss_mib()
    peak_before = _peak_mib()
    trajectory = []
    consumed = errors = 0
    stopped = None
    every = max(1, n // 50)  # about 50 points of RSS per run: enough to see a trend
    gen = ecwa(session, stmt, ((i % 100_000, value) for i in range(n)), concurrency=args.concurrency,
               raise_on_first_error=False, results_generator=True)
    t0 = time.perf_counter()
    for success, _ in gen:
        consumed += 1
        if not success:
            errors += 1
        if consumed % 50 == 0:
            # the slow consumer: never faster than `rate` items per second
            ahead = t0 + consumed / rate - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
        if consumed % every == 0:
            rss = _rss_mib()
            trajectory.append((consumed, round(time.perf_counter() - t0, 2), round(rss, 1)))
            if rss > args.rss_limit_mib:
                stopped = "RSS %.0f MiB over --rss-limit-mib %d" % (rss, args.rss_limit_mib)
                break
            if time.perf_counter() - t0 > args.max_seconds:
                stopped = "over --max-seconds %d" % args.max_seconds
                break
    elapsed = time.perf_counter() - t0
    result = {
        "impl": args.impl, "statements": n, "consumed": consumed, "errors": errors, "elapsed_s": elapsed,
        "rss_start_mib": rss_start, "peak_before_mib": peak_before, "peak_mib": _peak_mib(),
        "stopped": stopped, "consumer_rate": rate, "trajectory": trajectory,
    }
    print("RESULT " + json.dumps(result), flush=True)
    # A stopped driver run keeps dispatching in the background: don't wait for it.
    os._exit(0) if stopped else cluster.shutdown()
    return result


def run_worker(args, impl, statements, host, port):
    cmd = [sys.executable, "-m", "bench.memory", "--worker", "--impl", impl, "--statements", str(statements),
           "--host", host, "--port", str(port), "--keyspace", args.keyspace, "--table", args.table,
           "--concurrency", str(args.concurrency), "--consumer-rate", str(args.consumer_rate),
           "--rss-limit-mib", str(args.rss_limit_mib), "--max-seconds", str(args.max_seconds)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          timeout=args.max_seconds + 120)
    wall = time.perf_counter() - t0
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[7:])
            res["process_s"] = wall
            return res
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"impl": impl, "statements": statements, "failed": "exit %d: %s" % (proc.returncode, tail)}


# -- parent -----------------------------------------------------------------
def parser():
    ap = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n\n")[0])
    ap.add_argument("--impls", default="c,py,driver", help="comma list of c,py,driver")
    ap.add_argument("--statements", type=int, default=1_000_000, help="big run (default 1000000)")
    ap.add_argument("--baseline", type=int, default=10_000, help="baseline run (default 10000)")
    ap.add_argument("--concurrency", type=int, default=100)
    ap.add_argument("--consumer-rate", type=float, default=5000.0,
                    help="items/s the consumer takes at most; keep it under the server's rate (default 5000)")
    ap.add_argument("--rss-limit-mib", type=int, default=3072,
                    help="stop a run whose RSS passes this (it then FAILs; default 3072)")
    ap.add_argument("--max-seconds", type=int, default=900, help="stop a run after this long (default 900)")
    ap.add_argument("--keyspace", default="concurrent_ext_bench")
    ap.add_argument("--table", default="kv")
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--write-docs", action="store_true", help="rewrite the memory section of docs/benchmarks.md")
    ap.add_argument("--markdown", action="store_true")
    # worker mode (internal)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--impl", help=argparse.SUPPRESS)
    ap.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    return ap


def main(argv=None):
    ap = parser()
    args = ap.parse_args(argv)
    for name in ("statements", "baseline", "concurrency", "rss_limit_mib", "max_seconds"):
        if getattr(args, name) <= 0:
            ap.error("--%s must be > 0" % name.replace("_", "-"))
    if args.consumer_rate <= 0:
        ap.error("--consumer-rate must be > 0")
    if not e2e.IDENTIFIER.match(args.keyspace) or not e2e.IDENTIFIER.match(args.table):
        ap.error("--keyspace/--table must be plain CQL identifiers")
    if args.worker:
        worker(args)
        return 0
    try:
        tags = [t for t in impls.parse_tags(args.impls) if t != "bare"]
    except ValueError as exc:
        ap.error(str(exc))
    try:
        return parent(args, tags)
    except BenchError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1


def parent(args, tags):
    import logging
    logging.basicConfig(level=logging.ERROR)
    from bench.__main__ import start_server
    env = envinfo.collect()
    _, skipped = impls.load(tags)
    server = start_server()
    t_start = time.perf_counter()
    results = []
    try:
        server_desc = "embedded CQLServer(process=True) on %s:%d" % (server.host, server.port)
        cluster, session = e2e.connect([server.host], server.port, embedded=True)
        e2e.prepare(session, args.keyspace, args.table)
        cluster.shutdown()
        print(envinfo.header(env, server_desc))
        print("plan:            generator mode, prepared INSERT, concurrency %d, consumer paced at %.0f items/s; "
              "baseline %d vs %d statements; each run in its own process"
              % (args.concurrency, args.consumer_rate, args.baseline, args.statements))
        for tag, why in skipped.items():
            print("!!! SKIPPING %s: %s" % (tag, why))
            print("!!! SKIPPING %s: %s" % (tag, why), file=sys.stderr)
        sys.stdout.flush()
        for tag in tags:
            if tag in skipped:
                continue
            for n in (args.baseline, args.statements):
                print("  running %s with %d statements ..." % (tag, n), file=sys.stderr, flush=True)
                res = run_worker(args, tag, n, server.host, server.port)
                results.append(res)
                if "failed" in res:
                    print("  %s %d: FAILED %s" % (tag, n, res["failed"]), file=sys.stderr)
                else:
                    print("  %s %d: peak %.1f MiB in %.0f s%s" % (
                        tag, n, res["peak_mib"], res["elapsed_s"],
                        ", stopped: " + res["stopped"] if res["stopped"] else ""), file=sys.stderr, flush=True)
    finally:
        server.stop()
    elapsed = time.perf_counter() - t_start
    table, lines = summarize(results, tags, args)
    print()
    print(render(table, args.markdown))
    print()
    for line in lines:
        print(line)
    print("total run time %.0f s" % elapsed)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"environment": env, "arguments": vars(args), "results": results, "targets": lines,
                       "elapsed_s": elapsed, "skipped": skipped}, fh, indent=1)
        print("wrote %s" % args.json)
    if args.write_docs:
        from bench.docs_section import replace_section
        text = "\n".join(["```", envinfo.header(env, server_desc), "```", "",
                          "Generator mode, prepared INSERT, concurrency %d, consumer paced at %.0f items/s; "
                          "run took %.0f s in all." % (args.concurrency, args.consumer_rate, elapsed), "",
                          render(table, True), "", "```"] + lines + ["```"])
        print("rewrote %s" % replace_section("memory-results", text))
    return 0


def summarize(results, tags, args):
    by = {(r["impl"], r["statements"]): r for r in results}
    rows, lines = [], []
    for tag in tags:
        small, big = by.get((tag, args.baseline)), by.get((tag, args.statements))
        if not small or not big:
            continue
        if "failed" in small or "failed" in big:
            lines.append("FAIL  %s: a run failed: %s" % (tag, small.get("failed") or big.get("failed")))
            continue
        growth = big["peak_mib"] - small["peak_mib"]
        rows.append([tag, "%.1f" % small["peak_mib"], "%.1f" % big["peak_mib"], "%+.1f" % growth,
                     "%d / %d" % (big["consumed"], big["statements"]),
                     "%.0f" % (big["consumed"] / big["elapsed_s"]) if big["elapsed_s"] else "-",
                     "%.0f" % big["elapsed_s"], big["errors"], big["stopped"] or "-"])
        complete = big["consumed"] == big["statements"] and not big["stopped"]
        if tag == "driver":
            verdict = "PASS" if growth > LIMIT_MIB else "FAIL"
            lines.append("%s  driver grows with the input: %+.1f MiB (expected > %.0f)" % (verdict, growth, LIMIT_MIB))
        else:
            ok = growth <= LIMIT_MIB and complete and not big["errors"]
            lines.append("%s  %s stays within %.0f MiB of its %d-statement peak: %+.1f MiB%s" % (
                "PASS" if ok else "FAIL", tag, LIMIT_MIB, args.baseline, growth,
                "" if complete else " (run incomplete: %s)" % (big["stopped"] or "short")))
    head = ["impl", "peak MiB @%d" % args.baseline, "peak MiB @%d" % args.statements, "growth MiB",
            "consumed", "items/s", "time s", "errors", "stopped"]
    return (head, rows), lines


def render(table, markdown):
    from bench.report import render_table
    head, rows = table
    return render_table(head, rows, markdown, left=1)


if __name__ == "__main__":
    sys.exit(main())
