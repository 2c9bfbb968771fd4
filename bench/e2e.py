"""End-to-end runners: connect, create the schema, run interleaved samples."""
from __future__ import annotations

import gc
import logging
import random
import re
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

WORKLOADS = ("insert", "select")
MODES = ("list", "generator")
VALUE = "concurrent_ext-bench-value-32chr"  # 32 characters of text per row
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,47}$")


class BenchError(Exception):
    """A failure to report as one line, without a traceback."""


@dataclass
class Sample:
    rep: int                  # -1 for a warm-up
    workload: str
    concurrency: int
    mode: str
    calls: int                # the statements were split over this many consecutive calls
    impl: str
    n: int
    errors: int
    wall_s: float
    cpu_s: float              # this process (client), all threads
    server_cpu_s: Optional[float]
    server_requests: Optional[int]

    @property
    def ops(self):
        return self.n / self.wall_s if self.wall_s > 0 else 0.0

    def cell(self):
        return (self.workload, self.concurrency, self.mode, self.calls)


# The driver's factories by name, and "compiled": concurrent_ext.named_tuple_factory (issue #8).
ROW_FACTORIES = ("named_tuple", "tuple", "dict", "compiled")


def row_factory_of(name):
    if name != "compiled":
        from cassandra import query
        return getattr(query, name + "_factory")
    import concurrent_ext
    factory = getattr(concurrent_ext, "named_tuple_factory", None)
    if factory is None:
        raise BenchError("--row-factory compiled: this concurrent_ext has no named_tuple_factory")
    return factory


def connect(hosts: Sequence[str], port: int, username=None, password=None, ssl_ca=None, embedded=False,
            row_factory="named_tuple"):
    """Return (cluster, session), or raise BenchError with a one-line reason."""
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, RoundRobinPolicy, TokenAwarePolicy

    # One node on loopback: plain round robin (no token computation per
    # request).  A real cluster: the usual token-aware, DC-aware policy.
    lbp = RoundRobinPolicy() if embedded else TokenAwarePolicy(DCAwareRoundRobinPolicy())
    kwargs = dict(
        contact_points=list(hosts), port=port, protocol_version=4,
        execution_profiles={EXEC_PROFILE_DEFAULT: ExecutionProfile(
            load_balancing_policy=lbp, request_timeout=60,
            row_factory=row_factory_of(row_factory))},
        connect_timeout=5, control_connection_timeout=5,
    )
    if username:
        from cassandra.auth import PlainTextAuthProvider
        kwargs["auth_provider"] = PlainTextAuthProvider(username=username, password=password or "")
    if ssl_ca:
        import ssl
        try:
            kwargs["ssl_context"] = ssl.create_default_context(cafile=ssl_ca)
        except (OSError, ssl.SSLError) as exc:
            raise BenchError("cannot load --ssl-ca %s: %s" % (ssl_ca, exc)) from None
    where = "%s port %d" % (",".join(hosts), port)
    try:
        cluster = Cluster(**kwargs)
    except Exception as exc:
        if type(exc).__name__ == "UnresolvableContactPoints":
            raise BenchError("cannot resolve any of the hosts %s" % ",".join(hosts)) from None
        raise BenchError("cannot use %s: %s: %s" % (where, type(exc).__name__, _one_line(exc))) from None
    log = logging.getLogger("cassandra")
    quiet = not log.isEnabledFor(logging.WARNING)  # not --verbose: our one-line error says it all
    saved = log.level
    if quiet:
        log.setLevel(logging.CRITICAL)
    try:
        session = cluster.connect()
    except Exception as exc:
        cluster.shutdown()
        raise BenchError("cannot connect to %s: %s: %s" % (where, type(exc).__name__, _one_line(exc))) from None
    finally:
        log.setLevel(saved)
    return cluster, session


def _one_line(exc):
    text = " ".join(str(exc).split())
    return text if len(text) <= 400 else text[:400] + "..."


def prepare(session, keyspace: str, table: str):
    """Create keyspace/table if missing; return {'insert': ps, 'select': ps}."""
    if not IDENTIFIER.match(keyspace) or not IDENTIFIER.match(table):
        raise BenchError("keyspace and table must be plain CQL identifiers: %r.%r" % (keyspace, table))
    try:
        session.execute(
            "CREATE KEYSPACE IF NOT EXISTS %s WITH replication = "
            "{'class': 'SimpleStrategy', 'replication_factor': 1}" % keyspace)
        session.execute("CREATE TABLE IF NOT EXISTS %s.%s (k int PRIMARY KEY, v text)" % (keyspace, table))
        return {
            "insert": session.prepare("INSERT INTO %s.%s (k, v) VALUES (?, ?)" % (keyspace, table)),
            "select": session.prepare("SELECT k, v FROM %s.%s WHERE k = ?" % (keyspace, table)),
        }
    except Exception as exc:
        raise BenchError("cannot create or prepare %s.%s: %s: %s"
                         % (keyspace, table, type(exc).__name__, _one_line(exc))) from None


def make_params(workload: str, n: int):
    if workload == "insert":
        return [(i, VALUE) for i in range(n)]
    return [(i,) for i in range(n)]


def preload(session, statements, n: int, runner: Callable):
    """Insert the rows the SELECT workload reads (keys 0..n-1)."""
    done, errors = runner(session, statements["insert"], make_params("insert", n), 100, False)
    if errors:
        raise BenchError("preloading %d rows for the select workload: %d errors" % (n, errors))
    rs = session.execute(statements["select"], (n - 1,))
    if not rs.one():
        raise BenchError("preloaded row %d cannot be read back" % (n - 1))


def split(params: list, calls: int) -> List[list]:
    """``params`` cut into ``calls`` consecutive chunks whose sizes differ by at most one."""
    size, extra = divmod(len(params), calls)
    bounds = [i * size + min(i, extra) for i in range(calls + 1)]
    return [params[a:b] for a, b in zip(bounds, bounds[1:])]


def run_sample(runner, session, statement, chunks, concurrency, generator, server, rep, workload, impl, mode):
    """One measured run: one executor call per chunk, back to back."""
    gc.collect()
    s0 = server.cpu_time() if server is not None else None
    q0 = server.requests() if server is not None else None
    c0 = time.process_time()
    t0 = time.perf_counter()
    n = errors = 0
    for chunk in chunks:
        done, failed = runner(session, statement, chunk, concurrency, generator)
        n += done
        errors += failed
    t1 = time.perf_counter()
    c1 = time.process_time()
    s1 = server.cpu_time() if server is not None else None
    q1 = server.requests() if server is not None else None
    return Sample(rep, workload, concurrency, mode, len(chunks), impl, n, errors, t1 - t0, c1 - c0,
                  None if s0 is None else s1 - s0, None if q0 is None else q1 - q0)


@dataclass
class Plan:
    impls: List[str]
    workloads: List[str]
    concurrencies: List[int]
    modes: List[str]
    calls: List[int]          # 1: one call of `statements`; k: k consecutive calls sharing them
    statements: int
    repeat: int
    warmup: int
    seed: Optional[int] = None
    cells: list = field(init=False)

    def __post_init__(self):
        self.cells = [(w, c, m, k) for w in self.workloads for k in self.calls for c in self.concurrencies
                      for m in self.modes]

    @property
    def total_runs(self):
        warm = len(self.impls) * len(self.modes) if self.warmup else 0
        return warm + self.repeat * len(self.cells) * len(self.impls)


def run_plan(plan: Plan, runners: Dict[str, Callable], session, statements, server, progress=None):
    """Warm up each impl, then ``repeat`` rounds; in each round every cell
    runs every impl once, in a fresh random order.  Returns the samples
    (warm-ups have rep == -1)."""
    rng = random.Random(plan.seed)
    params = {w: make_params(w, plan.statements) for w in plan.workloads}
    chunks = {(w, k): split(params[w], k) for w in plan.workloads for k in plan.calls}
    samples: List[Sample] = []
    step = progress.step if progress else (lambda note=None: None)
    warm_workload = plan.workloads[0]
    warm_conc = 100 if 100 in plan.concurrencies else plan.concurrencies[0]
    warm_chunks = [params[warm_workload][: plan.warmup]]
    for impl in plan.impls if plan.warmup else ():
        for mode in plan.modes:
            samples.append(run_sample(runners[impl], session, statements[warm_workload], warm_chunks, warm_conc,
                                      mode == "generator", server, -1, warm_workload, impl, mode))
            step("warm-up %s %s" % (impl, mode))
    for rep in range(plan.repeat):
        for workload, conc, mode, calls in plan.cells:
            order = list(plan.impls)
            rng.shuffle(order)
            for impl in order:
                s = run_sample(runners[impl], session, statements[workload], chunks[workload, calls], conc,
                               mode == "generator", server, rep, workload, impl, mode)
                samples.append(s)
                where = "%s c=%d %s %d call(s)" % (workload, conc, mode, calls)
                if s.errors or s.n != plan.statements:
                    msg = "warning: %s %s rep %d: %d results, %d errors" % (impl, where, rep, s.n, s.errors)
                    progress.write(msg) if progress else print(msg)
                step("rep %d/%d %s %s" % (rep + 1, plan.repeat, where, impl))
    return samples
