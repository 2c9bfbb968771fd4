"""Summaries, tables, PASS/FAIL lines, JSON and plot of the end-to-end run."""
from __future__ import annotations

import json
import os
import statistics
from dataclasses import asdict

IMPL_ORDER = ("c", "py", "driver", "bare")


def render_table(head, rows, markdown=False, left=2):
    """A plain-text (or Markdown) table; the first ``left`` columns are labels."""
    if markdown:
        out = ["| " + " | ".join(head) + " |",
               "|" + "|".join(":--" if i < left else "--:" for i in range(len(head))) + "|"]
        out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
        return "\n".join(out)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    fmt = "  ".join("{:<%d}" % w if i < left else "{:>%d}" % w for i, w in enumerate(widths))
    out = [fmt.format(*head), fmt.format(*["-" * w for w in widths])]
    out += [fmt.format(*[str(c) for c in r]) for r in rows]
    return "\n".join(out)


def _paired(a, b, f):
    """Median over the repetitions both have of f(a_rep, b_rep)."""
    vals = [f(a[r], b[r]) for r in a if r in b]
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def _ops_ratio(x, y):
    return x.ops / y.ops if y.ops else None


def _cpu_ratio(x, y):
    return (x.cpu_s / x.n) / (y.cpu_s / y.n) if x.n and y.n and y.cpu_s else None


def summarize(samples, plan):
    """One dict per (workload, concurrency, mode, impl) measured."""
    by = {}
    for s in samples:
        if s.rep >= 0:
            by.setdefault((s.cell(), s.impl), {})[s.rep] = s
    rows = []
    for cell in plan.cells:
        for impl in sorted(plan.impls, key=IMPL_ORDER.index):
            reps = by.get((cell, impl))
            if not reps:
                continue
            ss = list(reps.values())
            ops = [s.ops for s in ss]
            srv = [s.server_cpu_s / s.n * 1e6 for s in ss if s.server_cpu_s is not None and s.n]
            bare = by.get((cell, "bare"))
            drv = by.get((cell, "driver"))
            rows.append({
                "workload": cell[0], "concurrency": cell[1], "mode": cell[2], "calls": cell[3], "impl": impl,
                "reps": len(ss),
                "ops_median": statistics.median(ops), "ops_min": min(ops), "ops_max": max(ops),
                "cpu_us": statistics.median([s.cpu_s / s.n * 1e6 for s in ss if s.n] or [0.0]),
                "server_cpu_us": statistics.median(srv) if srv else None,
                "vs_bare": _paired(reps, bare, _ops_ratio) if bare else None,
                "cpu_vs_bare": _paired(reps, bare, _cpu_ratio) if bare else None,
                "vs_driver": _paired(reps, drv, _ops_ratio) if drv else None,
                "errors": sum(s.errors for s in ss),
                "short": sum(1 for s in ss if s.n != plan.statements),
            })
    return rows


def _fmt(v, spec, none="n/a"):
    return none if v is None else format(v, spec)


def _calls(r, statements):
    k = r["calls"]
    return "1 × %d" % statements if k == 1 else "%d × %d" % (k, statements // k)


def table(rows, statements, markdown=False):
    """Every (cell, impl): medians, spread, CPU, ratios."""
    head = ["workload", "conc.", "mode", "calls × stmts", "impl", "ops/s", "spread", "client CPU µs/op",
            "server CPU µs/op", "÷ bare", "CPU ÷ bare", "÷ driver", "errors"]
    body = []
    prev = None
    for r in rows:
        spread = (r["ops_max"] - r["ops_min"]) / r["ops_median"] * 100 if r["ops_median"] else 0
        cell = [r["workload"], r["concurrency"], r["mode"], _calls(r, statements)]
        label = cell if (markdown or cell != prev) else ["", "", "", ""]
        prev = cell
        body.append(label + [r["impl"], "%.0f" % r["ops_median"], "±%.0f%%" % (spread / 2), "%.1f" % r["cpu_us"],
                             _fmt(r["server_cpu_us"], ".1f"), _fmt(r["vs_bare"], ".2f", "-"),
                             _fmt(r["cpu_vs_bare"], ".2f", "-"), _fmt(r["vs_driver"], ".2f", "-"), r["errors"]])
    return render_table(head, body, markdown, left=5)


def comparison(rows, statements, markdown=False):
    """One line per cell: the implementations' ops/s side by side, then c's and py's ratios."""
    cells = {}
    for r in rows:
        cells.setdefault((r["workload"], r["concurrency"], r["mode"], r["calls"]), {})[r["impl"]] = r
    impls = [i for i in IMPL_ORDER if any(i in by for by in cells.values())]
    head = ["workload", "conc.", "mode", "calls × stmts"] + ["%s ops/s" % i for i in impls] + [
        "c ÷ driver", "py ÷ driver", "c ÷ bare", "spread"]
    body = []
    for by in cells.values():
        first = next(iter(by.values()))
        spread = max((r["ops_max"] - r["ops_min"]) / r["ops_median"] * 50 for r in by.values() if r["ops_median"])
        body.append([first["workload"], first["concurrency"], first["mode"], _calls(first, statements)]
                    + ["%.0f" % by[i]["ops_median"] if i in by else "-" for i in impls]
                    + [_fmt(by[i]["vs_driver"] if i in by else None, ".2f", "-") for i in ("c", "py")]
                    + [_fmt(by["c"]["vs_bare"] if "c" in by else None, ".2f", "-"), "±%.0f%%" % spread])
    return render_table(head, body, markdown, left=4)


def by_concurrency(rows, statements, markdown=False):
    """The whole matrix compactly: one line per (workload, mode, calls), one
    column per concurrency, each cell "c ÷ driver / py ÷ driver"."""
    concs = sorted({r["concurrency"] for r in rows})
    lines = {}
    for r in rows:
        if r["impl"] in ("c", "py"):
            line = lines.setdefault((r["workload"], r["mode"], r["calls"]), {"first": r})
            line[r["concurrency"], r["impl"]] = r["vs_driver"]
    head = ["workload", "mode", "calls × stmts"] + ["conc. %d: c / py ÷ driver" % c for c in concs]
    body = [[w, m, _calls(line["first"], statements)]
            + ["%s / %s" % (_fmt(line.get((c, "c")), ".2f", "-"), _fmt(line.get((c, "py")), ".2f", "-"))
               for c in concs]
            for (w, m, _), line in lines.items()]
    return render_table(head, body, markdown, left=3)


def verdicts(rows):
    """PASS/FAIL lines of the end-to-end targets of issue #8 that this run covers."""
    vs = [r for r in rows if r["impl"] == "c" and r["vs_driver"] is not None]
    if not vs:
        return ["SKIP  c vs driver: c or driver not measured"]

    def where(r):
        return "%s c=%d %s %d call(s)" % (r["workload"], r["concurrency"], r["mode"], r["calls"])

    slow = [r for r in vs if r["vs_driver"] < 1.0]
    out = ["%s  c >= 1.0x the driver's ops/s in every cell: %d of %d%s" % (
        "FAIL" if slow else "PASS", len(vs) - len(slow), len(vs),
        "; below: " + ", ".join("%s %.2fx" % (where(r), r["vs_driver"]) for r in slow) if slow else "")]
    for r in vs:
        if (r["workload"], r["concurrency"], r["mode"], r["calls"]) == ("insert", 100, "list", 1):
            out.append("%s  c >= 1.6x the driver, insert c=100 list, one call: %.2fx"
                       % ("PASS" if r["vs_driver"] >= 1.6 else "FAIL", r["vs_driver"]))
    return out


def write_json(path, env, args, plan, server_desc, samples, rows, verdict_lines, skipped, elapsed):
    """The run as one JSON document: environment, plan, every sample (one line each), medians."""
    doc = {
        "environment": env, "server": server_desc, "arguments": args,
        "plan": {"impls": plan.impls, "workloads": plan.workloads, "concurrency": plan.concurrencies,
                 "modes": plan.modes, "calls": plan.calls, "statements": plan.statements,
                 "repeat": plan.repeat, "warmup": plan.warmup},
        "skipped": skipped, "elapsed_s": round(elapsed, 1),
        "targets": verdict_lines, "medians": [], "samples": [],
    }
    text = json.dumps(doc, indent=1)
    # one record per line keeps the committed file short and diffable
    for key, records in (("medians", rows), ("samples", [asdict(s) for s in samples])):
        lines = ",\n".join("  " + json.dumps(r) for r in records)
        text = text.replace('"%s": []' % key, '"%s": [\n%s\n ]' % (key, lines), 1)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)


COLORS = {"c": "tab:blue", "py": "tab:orange", "driver": "tab:red", "bare": "black"}


def plot(path, rows, title):
    try:
        import matplotlib
    except ImportError:
        raise RuntimeError("--plot needs matplotlib: pip install 'concurrent-ext[plot]' (or matplotlib)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    one_call = min(r["calls"] for r in rows)
    rows = [r for r in rows if r["calls"] == one_call]
    panels = list(dict.fromkeys((r["workload"], r["mode"]) for r in rows))
    fig, axes = plt.subplots(2, len(panels), figsize=(4.2 * len(panels), 7.5), squeeze=False)
    for col, (workload, mode) in enumerate(panels):
        pr = [r for r in rows if (r["workload"], r["mode"]) == (workload, mode)]
        for impl in sorted({r["impl"] for r in pr}, key=IMPL_ORDER.index):
            ir = sorted((r for r in pr if r["impl"] == impl), key=lambda r: r["concurrency"])
            xs = [r["concurrency"] for r in ir]
            style = dict(marker="o", color=COLORS.get(impl), label=impl, linestyle="--" if impl == "bare" else "-")
            med = [r["ops_median"] for r in ir]
            axes[0][col].errorbar(xs, med, yerr=[[m - r["ops_min"] for m, r in zip(med, ir)],
                                                [r["ops_max"] - m for m, r in zip(med, ir)]], capsize=3, **style)
            axes[1][col].plot(xs, [r["cpu_us"] for r in ir], **style)
        axes[0][col].set_title("%s, %s mode" % (workload, mode))
        axes[0][col].set_ylabel("ops/s (median, min–max)")
        axes[1][col].set_ylabel("client CPU µs/op (median)")
        axes[1][col].set_xlabel("concurrency")
        ticks = sorted({r["concurrency"] for r in pr})
        for ax in (axes[0][col], axes[1][col]):
            ax.set_xscale("log")
            ax.set_xlim(ticks[0] / 1.6, ticks[-1] * 1.6)
            ax.set_xticks(ticks)
            ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
            ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
            ax.grid(True, alpha=0.3)
            ax.set_ylim(0, ax.get_ylim()[1] * 1.08)
    axes[0][0].legend()
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
