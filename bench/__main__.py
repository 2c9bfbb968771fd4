"""python -m bench: loopback end-to-end benchmark of execute_concurrent.

Starts an embedded CQLServer in its own process on 127.0.0.1 (or uses
--hosts), connects a real cassandra.cluster.Cluster (protocol v4), and runs
prepared INSERT and SELECT through c, py, driver and the bare loop, in list
and generator modes, interleaving the repetitions.  See docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
import time

from bench import e2e, envinfo, impls, report
from bench.e2e import BenchError
from bench.progress import Progress

PASSWORD_ENV = "CONCURRENT_EXT_BENCH_PASSWORD"


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
    g.add_argument("--concurrency", type=_int_list, default=[10, 100, 500], help="default 10,100,500")
    g.add_argument("--modes", type=_choices(e2e.MODES), default=list(e2e.MODES), help="list,generator (default: both)")
    g.add_argument("--statements", type=_positive, default=20_000, help="statements per run (default 20000)")
    g.add_argument("--repeat", type=_positive, default=5, help="interleaved repetitions (default 5)")
    g.add_argument("--warmup", type=_non_negative, default=None,
                   help="statements of the warm-up run per impl and mode (default min(statements, 5000); 0: none)")
    g.add_argument("--seed", type=int, default=None, help="seed of the shuffled run order")
    g.add_argument("--row-factory", choices=e2e.ROW_FACTORIES, default="named_tuple",
                   help="row factory of the default profile (default named_tuple, the driver's default: it builds "
                        "a namedtuple class per response, a large part of a SELECT's client CPU)")
    g = ap.add_argument_group("where (default: an embedded CQLServer process on 127.0.0.1)")
    g.add_argument("--hosts", help="comma list of contact points of a real cluster instead")
    g.add_argument("--port", type=_positive, default=9042, help="native port with --hosts (default 9042)")
    g.add_argument("--keyspace", type=_identifier, default="concurrent_ext_bench", help="default concurrent_ext_bench")
    g.add_argument("--table", type=_identifier, default="kv", help="default kv")
    g.add_argument("--username", help="password from $%s, else prompted" % PASSWORD_ENV)
    g.add_argument("--ssl-ca", metavar="FILE", help="CA bundle: connect with TLS and verify the server")
    g = ap.add_argument_group("output")
    g.add_argument("--json", metavar="FILE", help="write raw samples, medians and environment")
    g.add_argument("--plot", metavar="FILE", help="PNG of ops/s and client CPU/op (needs matplotlib)")
    g.add_argument("--write-docs", action="store_true", help="rewrite the results section of docs/benchmarks.md")
    g.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    g.add_argument("-v", "--verbose", action="store_true", help="show the driver's log warnings")
    return ap


def main(argv=None):
    args = parser().parse_args(argv)
    if args.warmup is None:
        args.warmup = min(args.statements, 5000)
    if args.hosts is None and (args.username or args.ssl_ca):
        parser().error("--username and --ssl-ca need --hosts")
    if args.plot:
        try:
            import matplotlib  # noqa: F401  (fail before a long run, not after)
        except ImportError:
            parser().error("--plot needs matplotlib: pip install 'concurrent-ext[plot]' (or matplotlib)")
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
        plan = e2e.Plan(order, args.workloads, args.concurrency, args.modes, args.statements,
                        args.repeat, args.warmup, args.seed)
        print("plan:            %s; concurrency %s; %s mode; %d statements/run; %d interleaved repetitions "
              "+ warm-up of %d; impls %s; raise_on_first_error=False; %s_factory"
              % (",".join(plan.workloads), ",".join(map(str, plan.concurrencies)), ",".join(plan.modes),
                 plan.statements, plan.repeat, plan.warmup, ",".join(order), args.row_factory))
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
    print("\nmedians of %d repetitions; 'x bare'/'x driver': median of per-repetition ops/s ratios; "
          "'CPU x bare': same for client CPU/op; run took %.0f s\n" % (plan.repeat, elapsed))
    print(report.table(rows, markdown=args.markdown))
    print()
    lines = report.verdicts(rows, plan.modes)
    for line in lines:
        print(line)
    for tag in skipped:
        print("!!! %s was NOT measured: %s" % (tag, skipped[tag]))
    if args.json:
        report.write_json(args.json, env, vars(args), plan, server_desc, samples, rows, lines, skipped, elapsed)
        print("wrote %s" % args.json)
    if args.plot:
        title = "%s, %s, %s, %s; %d statements/run, median of %d" % (
            env["date"], env["cpu"], env["python"], server_desc.split(" (")[0], plan.statements, plan.repeat)
        report.plot(args.plot, rows, title)
        print("wrote %s" % args.plot)
    if args.write_docs:
        from bench.docs_section import replace_section
        text = docs_text(env, server_desc, plan, rows, lines, skipped, elapsed, args.row_factory)
        print("rewrote %s" % replace_section("e2e-results", text))
    return 0


def docs_text(env, server_desc, plan, rows, lines, skipped, elapsed, row_factory):
    out = ["```", envinfo.header(env, server_desc), "```", "",
           "%d statements per run, %d interleaved repetitions (medians), warm-up %d; run took %.0f s; "
           "`raise_on_first_error=False`; `%s_factory`." % (plan.statements, plan.repeat, plan.warmup, elapsed,
                                                 row_factory), "",
           report.table(rows, markdown=True), "", "Targets (prepared INSERT, concurrency 100):", "", "```"]
    out += lines
    out += ["!!! %s was NOT measured: %s" % kv for kv in skipped.items()]
    out += ["```"]
    return "\n".join(out)


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
