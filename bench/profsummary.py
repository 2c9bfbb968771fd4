"""python -m bench.profsummary: where the client's CPU goes, from py-spy.

    py-spy record --native --threads --format raw -o c.txt -- \\
        python -m bench.one --impl c --loops 8
    py-spy record --native --threads --format raw -o bare.txt -- \\
        python -m bench.one --impl bare --loops 8
    python -m bench.profsummary bare.txt c.txt

Reads py-spy's raw (collapsed) stacks and prints, per file, the share of
the on-CPU samples taken inside the measured runs (below
``executor_runner.<locals>.run`` or ``ceiling.run`` on the calling thread,
plus every other thread, e.g. the driver's event loop), broken down by
the categories below.  Samples outside the measured runs (start-up,
connecting, the explicit gc.collect() between runs) are left out.
"""
from __future__ import annotations

import collections
import re
import sys

# (label, regex on one frame); the first category whose regex matches any
# frame of a stack (scanning from the leaf up) gets the sample.
CATEGORIES = [
    ("waiting: locks, GIL, poll", r"^(PyThread_acquire_lock_timed|pthread_cond_(timed)?wait|sem_(timed)?wait|"
                                    r"select|epoll_wait|__futex_abstimed_wait|do_futex_wait)"),
    ("cyclic GC during the run", r"^gc_collect_main|^collect_with_callback|^gc_collect_generations"),
    ("driver: bind", r"^bind(\.isra\.\d+)? \((.*/)?query"),
    ("driver: execute_async (plan, encode, send)", r"^execute_async \((.*/)?cluster"),
    ("driver: add_callbacks", r"^(add_callbacks?|add_errback) \((.*/)?cluster"),
    ("driver: clear_callbacks", r"^clear_callbacks \((.*/)?cluster"),
    # ResultSet.__init__ is only told apart from ResponseFuture.__init__ by its
    # caller (native frames carry no class name): see classify().
    ("driver: ResultSet()", r"^(ResultSet\.)?(__init__|_set_current_rows) \((.*/)?cluster"),
    ("driver: response decode + callbacks (event loop)", r"(libev|asyncore|asyncio)"),
    ("executor / bare loop itself", r"(_concurrent_c\.pyx|_concurrent_py\.py|concurrent\.cpython|ceiling\.py)"),
    ("freeing results", r"^(subtype_dealloc|list_dealloc|tuple_dealloc|_PyObject_GC_Del|dict_dealloc|free) "),
    ("consuming results (bench runner loop, generator resume)", r"^(executor_runner\.<locals>\.run) "),
]
IN_RUN = re.compile(r"^(executor_runner\.<locals>\.run|run) \((bench/)?(impls|ceiling)\.py")
SKIP = re.compile(r"^(gc_collect|run_sample) ")


def load(path):
    stacks = []
    with open(path) as fh:
        for line in fh:
            stack, _, n = line.rstrip("\n").rpartition(" ")
            if stack:
                stacks.append((stack.split(";"), int(n)))
    return stacks


def classify(stacks):
    counts = collections.Counter()
    for frames, n in stacks:
        calling = any(f.startswith("run_sample ") for f in frames)
        if calling and not any(IN_RUN.match(f) for f in frames):
            continue  # the calling thread outside a measured run
        if not calling and any(f.startswith(("main (bench/one.py", "<module> (bench/one.py")) for f in frames):
            continue  # start-up on the main thread
        label = "other"
        for i in range(len(frames) - 1, -1, -1):
            f = frames[i]
            hit = next((lab for lab, rx in _COMPILED if rx.search(f)), None)
            if hit == RESULTSET and not (f.startswith("ResultSet.") or (i and _EXECUTOR.search(frames[i - 1]))):
                hit = None  # ResponseFuture.__init__ and the like: its caller decides
            if hit:
                label = hit
                break
        counts[label] += n
    return counts


_COMPILED = [(lab, re.compile(rx)) for lab, rx in CATEGORIES]
RESULTSET = "driver: ResultSet()"
_EXECUTOR = re.compile(dict(CATEGORIES)["executor / bare loop itself"])


def main(argv=None):
    paths = (argv if argv is not None else sys.argv[1:])
    if not paths:
        print(__doc__)
        return 2
    tables = [(p, classify(load(p))) for p in paths]
    wait = CATEGORIES[0][0]
    labels = [lab for lab, _ in CATEGORIES[1:]] + ["other"]
    width = max(len(lab) for lab in labels + [wait]) + 2
    print("%-*s" % (width, "") + "  ".join("%14s" % p.rsplit("/", 1)[-1][:14] for p, _ in tables))
    print("%-*s" % (width, "samples in measured runs") + "  ".join("%14d" % sum(c.values()) for _, c in tables))
    print("%-*s" % (width, wait + " (share)") + "  ".join(
        "%13.1f%%" % (100.0 * c[wait] / max(1, sum(c.values()))) for _, c in tables))
    print("\nshare of the samples not waiting:")
    for lab in labels:
        print("%-*s" % (width, "  " + lab) + "  ".join(
            "%13.1f%%" % (100.0 * c[lab] / max(1, sum(c.values()) - c[wait])) for _, c in tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
