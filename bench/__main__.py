"""python -m bench: loopback end-to-end benchmark of execute_concurrent.

Starts an embedded CQLServer in its own process on 127.0.0.1 (or uses
--hosts), connects a real cassandra.cluster.Cluster (protocol v4), and runs
prepared INSERT and SELECT through c, py, driver and the bare loop, in list
and generator modes, interleaving the repetitions.  The default is the quick
comparison (concurrency 10 and 100, one call); --full is the whole matrix
(concurrency 1, 10, 100, 500, one big call and 10 consecutive calls).
--record writes the committed result file, the chart and the generated
documentation.  See docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
import time

from bench import e2e, envinfo, impls, publish, report
from bench.e2e import BenchError
from bench.progress import Progress

PASSWORD_ENV = "CONCURRENT_EXT_BENCH_PASSWORD"

# What a run measures unless told otherwise.  The quick preset answers in
# about two minutes on a 2-core machine: 5,000 statements are enough for a
# stable median once the warm-up has run, and three interleaved repetitions
# give a median and a spread.
PRESETS = {
    "quick": dict(concurrency=[10, 100], calls=[1], statements=5_000, repeat=3, warmup=1_000),
    "full": dict(concurrency=[1, 10, 100, 500], calls=[1, 10], statements=20_000, repeat=3, warmup=5_000),
}
OUT_DIR = os.path.join(envinfo.REPO, "build", "bench")
RECORDED = {"quick": os.path.join(envinfo.REPO, "bench", "results", "e2e.json"),
            "full": os.path.join(envinfo.REPO, "bench", "results", "e2e-full.json")}
CHART = os.path.join(envinfo.REPO, "docs", "bench-loopback.png")


def _positive(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not an integer: %r" % text) from None
    if v <= 0:
        raise argparse.ArgumentTypeError("must be > 0: %r" % text)
    return v


def _non_negative(text):
    return 0 if text.strip() == "0" else _positive(text)


def _int_list(text):
    vals = [_positive(t.strip()) for t in text.split(",") if t.strip()]
    if not vals:
        raise argparse.ArgumentTypeError("empty list")
    return list(dict.fromkeys(vals))


def _choices(allowed):
    def parse(text):
        vals = [t.strip() for t in text.split(",") if t.strip()]
        bad = [v for v in vals if v not in allowed]
        if bad or not vals:
            raise argparse.ArgumentTypeError("choose from %s (got %r)" % (",".join(allowed), text))
        return list(dict.fromkeys(vals))
    return parse


def _identifier(text):
    if not e2e.IDENTIFIER.match(text):
        raise argparse.ArgumentTypeError("not a plain CQL identifier: %r" % text)
    return text


def parser():
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0],
                                 epilog="Memory benchmark: python -m bench.memory; executor micro-benchmark: "
                                        "python -m bench.micro.")
    g = ap.add_argument_group("what to run")
    g.add_argument("--impls", type=_choices(impls.ALL), default=list(impls.ALL),
                   help="comma list of c,py,driver,bare (default: all)")
    g.add_argument("--workloads", type=_choices(e2e.WORKLOADS), default=list(e2e.WORKLOADS),
                   help="insert,select (default: both)")
    g.add_argument("--full", action="store_true",
                   help="the whole matrix: concurrency 1,10,100,500, 1 and 10 consecutive calls, 20000 "
                        "statements, 3 repetitions (the quick default: 10,100, one call of 5000, 3 repetitions)")
    g.add_argument("--concurrency", type=_int_list, help="comma list (quick 10,100; full 1,10,100,500)")
    g.add_argument("--modes", type=_choices(e2e.MODES), default=list(e2e.MODES), help="list,generator (default: both)")
    g.add_argument("--calls", type=_int_list,
                   help="comma list: split each run's statements over this many consecutive calls (quick 1; full 1,10)")
    g.add_argument("--statements", type=_positive, help="statements per run (quick 5000; full 20000)")
    g.add_argument("--repeat", type=_positive, help="interleaved repetitions (default 3)")
    g.add_argument("--warmup", type=_non_negative,
                   help="statements of the warm-up run per impl and mode (quick 1000; full 5000; 0: none)")
    g.add_argument("--seed", type=int, default=None, help="seed of the shuffled run order")
    g.add_argument("--row-factory", choices=e2e.ROW_FACTORIES, default="named_tuple",
                   help="row factory of the default profile (default named_tuple, the driver's default: it builds "
                        "a namedtuple class per response, a large part of a SELECT's client CPU; compiled: "
                        "concurrent_ext.named_tuple_factory)")
    g = ap.add_argument_group("where (default: an embedded CQLServer process on 127.0.0.1)")
    g.add_argument("--hosts", help="comma list of contact points of a real cluster instead")
    g.add_argument("--port", type=_positive, default=9042, help="native port with --hosts (default 9042)")
    g.add_argument("--keyspace", type=_identifier, default="concurrent_ext_bench", help="default concurrent_ext_bench")
    g.add_argument("--table", type=_identifier, default="kv", help="default kv")
    g.add_argument("--username", help="password from $%s, else prompted" % PASSWORD_ENV)
    g.add_argument("--ssl-ca", metavar="FILE", help="CA bundle: connect with TLS and verify the server")
    g = ap.add_argument_group("output (default: build/bench/e2e-quick.json and .png, or e2e-full.*)")
    g.add_argument("--json", metavar="FILE", help="write the environment, medians and every sample here")
    g.add_argument("--plot", metavar="FILE", help="PNG of ops/s and client CPU/op (needs matplotlib)")
    g.add_argument("--record", action="store_true",
                   help="write the committed result file (bench/results/e2e.json, or e2e-full.json with --full) "
                        "and docs/bench-loopback.png, then regenerate the README table and docs/benchmarks.md "
                        "from it (python -m bench.publish)")
    g.add_argument("--details", action="store_true", help="also print every implementation's row (CPU, spread)")
    g.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    g.add_argument("-v", "--verbose", action="store_true", help="show the driver's log warnings")
    return ap


def main(argv=None):
    args = parser().parse_args(argv)
    args.preset = "full" if args.full else "quick"
    for name, value in PRESETS[args.preset].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.warmup = min(args.warmup, args.statements)
    if args.hosts is None and (args.username or args.ssl_ca):
        parser().error("--username and --ssl-ca need --hosts")
    if max(args.calls) > args.statements:
        parser().error("--calls %d is more than --statements %d" % (max(args.calls), args.statements))
    if args.record and (args.json or args.plot or args.hosts):
        parser().error("--record writes the committed files of the embedded server: not with --json, --plot, --hosts")
    if args.record:
        args.json, args.plot = RECORDED[args.preset], CHART if args.preset == "quick" else None
    else:
        args.json = args.json or os.path.join(OUT_DIR, "e2e-%s.json" % args.preset)
        args.plot = args.plot or os.path.join(OUT_DIR, "e2e-%s.png" % args.preset)
    if args.plot:
        try:
            import matplotlib  # noqa: F401  (fail before a long run, not after)
        except ImportError:
            print("note: no chart (matplotlib is missing: pip install 'concurrent-ext[plot]')", file=sys.stderr)
            if args.record:
                parser().error("--record writes the chart: it needs matplotlib")
            args.plot = None
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.ERROR,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return run(args)
    except BenchError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def run(args):
    env = envinfo.collect()
    runners, skipped = impls.load(args.impls)
    for tag, why in skipped.items():
        line = "!!! SKIPPING %s: %s" % (tag, why)
        print(line)
        print(line, file=sys.stderr)
    if not runners:
        raise BenchError("no implementation left to run")
    order = [t for t in args.impls if t in runners]

    server = None
    cluster = None
    if args.hosts:
        hosts = [h.strip() for h in args.hosts.split(",") if h.strip()]
        if not hosts:
            raise BenchError("--hosts is empty")
        port = args.port
        server_desc = "cluster %s port %d%s (server CPU not measured)" % (",".join(hosts), port,
                                                                        ", TLS" if args.ssl_ca else "")
    else:
        server = start_server()
        hosts, port = [server.host], server.port
        server_desc = "embedded CQLServer(process=True) on %s:%d" % (server.host, port)
    password = None
    if args.username:
        password = os.environ.get(PASSWORD_ENV)
        if password is None:
            password = getpass.getpass("password for %s: " % args.username)
    t_start = time.perf_counter()
    try:
        cluster, session = e2e.connect(hosts, port, args.username, password, args.ssl_ca,
                                      embedded=server is not None, row_factory=args.row_factory)
        statements = e2e.prepare(session, args.keyspace, args.table)
        print(envinfo.header(env, server_desc))
        print("schema:          %s.%s (created if missing), prepared INSERT (k, v) and SELECT by key"
              % (args.keyspace, args.table))
        plan = e2e.Plan(order, args.workloads, args.concurrency, args.modes, args.calls, args.statements,
                        args.repeat, args.warmup, args.seed)
        print("plan:            %s; concurrency %s; %s mode; %d statements/run in %s consecutive call(s); "
              "%d interleaved repetitions + warm-up of %d; impls %s; raise_on_first_error=False; %s_factory"
              % (",".join(plan.workloads), ",".join(map(str, plan.concurrencies)), ",".join(plan.modes),
                 plan.statements, " or ".join(map(str, plan.calls)), plan.repeat, plan.warmup, ",".join(order),
                 args.row_factory))
        sys.stdout.flush()
        if "select" in plan.workloads:
            e2e.preload(session, statements, plan.statements, impls.load(["bare"])[0]["bare"])
        with Progress(plan.total_runs, "bench") as bar:
            samples = e2e.run_plan(plan, runners, session, statements, server, bar)
    finally:
        if cluster is not None:
            cluster.shutdown()
        if server is not None:
            server.stop()
    elapsed = time.perf_counter() - t_start

    rows = report.summarize(samples, plan)
    print("\nmedians of %d interleaved repetitions; ratios are medians of per-repetition ratios of ops/s; "
          "spread: half the min-max range of the cell's noisiest impl; run took %.0f s\n" % (plan.repeat, elapsed))
    print(report.comparison(rows, plan.statements, markdown=args.markdown))
    if args.details:
        print()
        print(report.table(rows, plan.statements, markdown=args.markdown))
    print()
    lines = report.verdicts(rows)
    for line in lines:
        print(line)
    for tag in skipped:
        print("!!! %s was NOT measured: %s" % (tag, skipped[tag]))
    report.write_json(args.json, env, vars(args), plan, server_desc, samples, rows, lines, skipped, elapsed)
    print("wrote %s" % _shown(args.json))
    if args.plot:
        title = "%s, %s, %s, %s; %d statements/run, median of %d" % (
            env["date"], env["cpu"], env["python"], server_desc.split(" (")[0], plan.statements, plan.repeat)
        report.plot(args.plot, rows, title)
        print("wrote %s" % _shown(args.plot))
    if args.record:
        for path in publish.publish():
            print("rewrote %s" % _shown(path))
    return 0


def _shown(path):
    """A path relative to the current directory when it lies below it."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def start_server():
    try:
        from cql_loopback import CQLServer
    except Exception as exc:
        raise BenchError("the embedded server is unavailable (%s: %s); use --hosts"
                         % (type(exc).__name__, exc)) from None
    server = CQLServer(host="127.0.0.1", port=0, process=True)
    try:
        server.start()
    except Exception as exc:
        raise BenchError("cannot start the embedded CQLServer: %s: %s" % (type(exc).__name__, exc)) from None
    return server


if __name__ == "__main__":
    sys.exit(main())
