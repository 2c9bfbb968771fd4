"""Executor overhead per statement, with fake futures and interleaved rounds.

    python -m bench.micro [--statements 100000] [--concurrency 100] [--rounds 7]
                          [--impls c,py,driver] [--modes list,generator] [--json FILE]

The fake session is tests/fake_driver.py in its fast mode.  docs/benchmarks.md
shows bench/results/micro.json (python -m bench.publish rewrites it).

Each round runs every (implementation, mode) pair, shuffled, plus the
fake-session bare loop; overhead per statement = (impl time - bare time of
the same round) / N, and the table shows medians over rounds.  Targets:
c's overhead <= 1/4 of the driver's; py no slower than the driver.
"""
from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time

from bench import envinfo, impls
from bench.fake_session import FakeSession

STATEMENT = "INSERT INTO ks.t (k, v) VALUES (?, ?)"  # never parsed: the fake ignores it


def make_params(n):
    return [(i, "v") for i in range(n)]


def time_one(runner, session, params, concurrency, generator, no_gc=False):
    gc.collect()
    if no_gc:
        gc.disable()
    c0 = time.process_time()
    t0 = time.perf_counter()
    n, errors = runner(session, STATEMENT, params, concurrency, generator)
    t1 = time.perf_counter()
    c1 = time.process_time()
    if no_gc:
        gc.enable()
    if n != len(params) or errors:
        raise RuntimeError("run returned %d results, %d errors, expected %d, 0" % (n, errors, len(params)))
    return t1 - t0, c1 - c0


def measure(tags, modes, statements, concurrency, rounds, progress=None, seed=None, no_gc=False):
    """Return (samples, skipped); samples[(tag, mode)] = [(wall, cpu), ...]."""
    runners, skipped = impls.load(["bare"] + [t for t in tags if t != "bare"])
    params = make_params(statements)
    rng = random.Random(seed)
    samples = {}
    session = FakeSession("fast")
    try:
        # warm-up: one small run of each
        for runner in runners.values():
            for mode in modes:
                time_one(runner, session, params[: min(statements, 10000)], concurrency, mode == "generator")
        for _ in range(rounds):
            jobs = [(tag, mode) for tag in runners for mode in modes]
            rng.shuffle(jobs)
            for tag, mode in jobs:
                samples.setdefault((tag, mode), []).append(
                    time_one(runners[tag], session, params, concurrency, mode == "generator", no_gc))
                if progress:
                    progress()
    finally:
        session.close()
    return samples, skipped


def summarize(samples, modes, statements):
    """Rows: dict(tag, mode, wall_us, cpu_us, overhead_us, overhead_cpu_us)."""
    rows = []
    for (tag, mode), vals in sorted(samples.items(), key=lambda kv: (modes.index(kv[0][1]), _order(kv[0][0]))):
        bare = samples[("bare", mode)]
        walls = [w for w, _ in vals]
        cpus = [c for _, c in vals]
        over = [(w - bw) / statements * 1e6 for (w, _), (bw, _) in zip(vals, bare)]
        over_cpu = [(c - bc) / statements * 1e6 for (_, c), (_, bc) in zip(vals, bare)]
        rows.append({
            "impl": tag, "mode": mode,
            "wall_us": statistics.median(walls) / statements * 1e6,
            "cpu_us": statistics.median(cpus) / statements * 1e6,
            "overhead_us": statistics.median(over) if tag != "bare" else 0.0,
            "overhead_cpu_us": statistics.median(over_cpu) if tag != "bare" else 0.0,
        })
    return rows


def _order(tag):
    return impls.ALL.index(tag) if tag in impls.ALL else 99


def verdicts(rows, modes):
    """PASS/FAIL lines for the micro targets."""
    by = {(r["impl"], r["mode"]): r for r in rows}
    lines = []
    for mode in modes:
        drv = by.get(("driver", mode))
        if drv is None:
            lines.append("SKIP  micro %s: driver not measured" % mode)
            continue
        d = drv["overhead_us"]
        c = by.get(("c", mode))
        if c is None:
            lines.append("FAIL  micro %s: c overhead <= 1/4 driver: c not measured" % mode)
        else:
            ratio = c["overhead_us"] / d if d > 0 else float("inf")
            lines.append("%s  micro %s: c overhead <= 1/4 of driver's: %.2f / %.2f us = %.2f"
                         % ("PASS" if ratio <= 0.25 else "FAIL", mode, c["overhead_us"], d, ratio))
        p = by.get(("py", mode))
        if p is None:
            lines.append("FAIL  micro %s: py no slower than driver: py not measured" % mode)
        else:
            lines.append("%s  micro %s: py no slower than driver: %.2f vs %.2f us/stmt"
                         % ("PASS" if p["wall_us"] <= drv["wall_us"] else "FAIL", mode, p["wall_us"], drv["wall_us"]))
    return lines


def format_table(rows, markdown=False):
    drv = {r["mode"]: r["overhead_us"] for r in rows if r["impl"] == "driver"}
    head = ["mode", "impl", "time µs/stmt", "CPU µs/stmt", "overhead µs/stmt", "overhead CPU µs/stmt",
            "overhead / driver's"]
    body = []
    for r in rows:
        d = drv.get(r["mode"])
        rel = "-" if r["impl"] == "bare" or not d else "%.2f" % (r["overhead_us"] / d)
        body.append([r["mode"], r["impl"], "%.2f" % r["wall_us"], "%.2f" % r["cpu_us"],
                     "%.2f" % r["overhead_us"], "%.2f" % r["overhead_cpu_us"], rel])
    from bench.report import render_table
    return render_table(head, body, markdown)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.micro", description=__doc__.split("\n\n")[0])
    ap.add_argument("--statements", type=_positive, default=100_000)
    ap.add_argument("--concurrency", type=_positive, default=100)
    ap.add_argument("--rounds", type=_positive, default=7)
    ap.add_argument("--impls", default="c,py,driver", help="comma list of c,py,driver (bare always runs)")
    ap.add_argument("--modes", default="list,generator")
    ap.add_argument("--json", metavar="FILE", help="write raw samples and the summary")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--no-gc", action="store_true",
                    help="diagnostic: gc.disable() inside each timed run, to show the cyclic GC's share "
                         "(list mode keeps every result alive); not how users run")
    args = ap.parse_args(argv)
    try:
        tags = impls.parse_tags(args.impls)
        modes = _modes(args.modes)
    except ValueError as exc:
        ap.error(str(exc))

    env = envinfo.collect()
    header = envinfo.header(env, server="none (tests/fake_driver.py in fast mode: futures completed by a thread)")
    print(header)
    _, skipped = impls.load(tags)
    for tag, why in skipped.items():
        print("!!! SKIPPING %s: %s" % (tag, why), file=sys.stderr)
        print("!!! SKIPPING %s: %s" % (tag, why))
    total = args.rounds * (len([t for t in tags if t not in skipped and t != "bare"]) + 1) * len(modes)
    from bench.progress import Progress
    t0 = time.perf_counter()
    with Progress(total, "micro") as bar:
        samples, _ = measure([t for t in tags if t not in skipped], modes, args.statements,
                             args.concurrency, args.rounds, progress=bar.step, seed=args.seed,
                             no_gc=args.no_gc)
    elapsed = time.perf_counter() - t0
    rows = summarize(samples, modes, args.statements)
    print("\n%d statements, concurrency %d, %d interleaved rounds, medians; took %.0f s%s"
          % (args.statements, args.concurrency, args.rounds, elapsed,
             "; CYCLIC GC DISABLED during the runs (diagnostic)" if args.no_gc else ""))
    print(format_table(rows, markdown=args.markdown))
    print()
    for line in verdicts(rows, modes):
        print(line)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"environment": env, "statements": args.statements, "concurrency": args.concurrency,
                       "rounds": args.rounds, "no_gc": args.no_gc, "skipped": skipped, "elapsed_s": elapsed,
                       "samples": {"%s/%s" % k: [{"wall_s": w, "cpu_s": c} for w, c in v] for k, v in samples.items()},
                       "summary": rows}, fh, indent=1)
        print("wrote %s" % args.json)
    return 0


def _positive(text):
    v = int(text)
    if v <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return v


def _modes(text):
    modes = [m.strip() for m in text.split(",") if m.strip()]
    if not modes or any(m not in ("list", "generator") for m in modes):
        raise ValueError("--modes takes list,generator")
    return list(dict.fromkeys(modes))


if __name__ == "__main__":
    sys.exit(main())
