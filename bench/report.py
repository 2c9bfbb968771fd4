"""Summaries, tables, PASS/FAIL lines, JSON and plot of the end-to-end run."""
from __future__ import annotations

import json
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
                "workload": cell[0], "concurrency": cell[1], "mode": cell[2], "impl": impl,
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


def table(rows, markdown=False):
    if markdown:
        head = ["workload", "conc.", "mode", "impl", "ops/s (median)", "spread", "client CPU µs/op",
                "server CPU µs/op", "ops/s ÷ bare", "CPU/op ÷ bare", "ops/s ÷ driver", "errors"]
    else:
        head = ["workload", "conc", "mode", "impl", "ops/s", "spread", "client CPU µs/op", "server CPU µs/op",
                "x bare", "CPU x bare", "x driver", "errors"]
    body = []
    prev = None
    for r in rows:
        spread = (r["ops_max"] - r["ops_min"]) / r["ops_median"] * 100 if r["ops_median"] else 0
        cell = (r["workload"], r["concurrency"], r["mode"])
        label = [r["workload"], r["concurrency"], r["mode"]] if (markdown or cell != prev) else ["", "", ""]
        prev = cell
        body.append(label + [r["impl"], "%.0f" % r["ops_median"], "±%.0f%%" % (spread / 2), "%.1f" % r["cpu_us"],
                             _fmt(r["server_cpu_us"], ".1f"), _fmt(r["vs_bare"], ".2f", "-"),
                             _fmt(r["cpu_vs_bare"], ".2f", "-"), _fmt(r["vs_driver"], ".2f", "-"), r["errors"]])
    return render_table(head, body, markdown, left=4)


TARGET_CELL = ("insert", 100)


def verdicts(rows, modes=("list", "generator")):
    """PASS/FAIL lines of the project's end-to-end targets (prepared INSERT, concurrency 100)."""
    by = {(r["workload"], r["concurrency"], r["mode"], r["impl"]): r for r in rows}
    out = []
    for mode in modes:
        key = TARGET_CELL + (mode,)
        where = "insert c=100 %s" % mode
        c, py, drv, bare = (by.get(key + (i,)) for i in ("c", "py", "driver", "bare"))
        if not (c or py or drv or bare):
            out.append(("SKIP", "%s: not part of this run" % where))
            continue
        if c and bare:
            v = c["vs_bare"]
            out.append(("PASS" if v >= 0.95 else "FAIL", "%s: c ops/s >= 0.95x bare loop: %.3fx" % (where, v)))
            v = c["cpu_vs_bare"]
            out.append(("PASS" if v <= 1.05 else "FAIL",
                        "%s: c client CPU/op <= 1.05x bare loop: %.3fx (%.1f vs %.1f µs)"
                        % (where, v, c["cpu_us"], bare["cpu_us"])))
        else:
            out.append(("SKIP", "%s: c vs bare loop: %s not measured" % (where, "c" if not c else "bare")))
        if py and drv:
            v = py["vs_driver"]
            out.append(("PASS" if v >= 1.0 else "FAIL", "%s: py ops/s >= driver: %.3fx" % (where, v)))
        else:
            out.append(("SKIP", "%s: py vs driver: %s not measured" % (where, "py" if not py else "driver")))
    return ["%-4s  %s" % v for v in out]


def write_json(path, env, args, plan, server_desc, samples, rows, verdict_lines, skipped, elapsed):
    doc = {
        "environment": env, "server": server_desc, "arguments": args,
        "plan": {"impls": plan.impls, "workloads": plan.workloads, "concurrency": plan.concurrencies,
                 "modes": plan.modes, "statements": plan.statements, "repeat": plan.repeat,
                 "warmup": plan.warmup},
        "skipped": skipped, "elapsed_s": elapsed,
        "samples": [dict(asdict(s), ops=s.ops) for s in samples],
        "medians": rows, "targets": verdict_lines,
    }
    with open(path, "w") as fh:
        json.dump(doc, fh, indent=1)


COLORS = {"c": "tab:blue", "py": "tab:orange", "driver": "tab:red", "bare": "black"}


def plot(path, rows, title):
    try:
        import matplotlib
    except ImportError:
        raise RuntimeError("--plot needs matplotlib: pip install 'concurrent-ext[plot]' (or matplotlib)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
