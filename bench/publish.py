"""python -m bench.publish: regenerate the documented numbers from the result files.

    python -m bench.publish

Rewrites, from bench/results/*.json only (no measuring):
  README.md           the table between <!-- bench-table --> and <!-- /bench-table -->  (e2e.json)
  docs/benchmarks.md  the sections e2e-results (e2e.json), e2e-full-results
                      (e2e-full.json) and micro-results (micro.json)
  docs/design.md      the section threads-results (threads.json)
A result file that does not exist yet leaves the command that makes it.
``ci/bench --record`` runs the quick benchmark, then this.
"""
from __future__ import annotations

import json
import os
import sys

from bench import envinfo, micro, report, threads
from bench.docs_section import replace_section

RESULTS = os.path.join(envinfo.REPO, "bench", "results")
README = os.path.join(envinfo.REPO, "README.md")
BENCH_DOC = os.path.join(envinfo.REPO, "docs", "benchmarks.md")
DESIGN_DOC = os.path.join(envinfo.REPO, "docs", "design.md")


def load(name):
    path = os.path.join(RESULTS, name)
    if not os.path.exists(path):
        return None
    with open(path) as fh:
        return json.load(fh)


def _source(name, command):
    return "From `bench/results/%s`, made by `%s`." % (name, command)


def _missing(name, command):
    return "Not recorded yet: `%s` writes `bench/results/%s`." % (command, name)


def factory_name(arg):
    return "concurrent_ext.named_tuple_factory" if arg == "compiled" else "cassandra.query.%s_factory" % arg


def e2e_text(doc, name, command, compact=False):
    plan = doc["plan"]
    out = ["%s %s; %s. %d statements per run (in %s consecutive call(s)), %d interleaved repetitions "
           "(medians), warm-up %d; run took %.0f s; `raise_on_first_error=False`; row factory `%s`."
           % (_source(name, command), envinfo.one_line(doc["environment"]), doc["server"].split(" on ")[0],
              plan["statements"], " or ".join(map(str, plan["calls"])), plan["repeat"], plan["warmup"],
              doc["elapsed_s"], factory_name(doc["arguments"]["row_factory"])), "",
           (report.by_concurrency if compact else report.comparison)(doc["medians"], plan["statements"],
                                                                       markdown=True), "", "```"]
    out += doc["targets"] + ["!!! %s was NOT measured: %s" % kv for kv in doc["skipped"].items()] + ["```"]
    return "\n".join(out)


def readme_text(doc):
    plan = doc["plan"]
    return "\n".join([
        "One run of `ci/bench` (%s): real driver over TCP to the embedded loopback server, %d statements per "
        "call, medians of %d interleaved repetitions (`bench/results/e2e.json`; the full matrix, memory and "
        "micro benchmarks: `docs/benchmarks.md`)." % (envinfo.one_line(doc["environment"]), plan["statements"],
                                                      plan["repeat"]),
        "", report.comparison(doc["medians"], plan["statements"], markdown=True)])


def micro_text(doc):
    rows = doc["summary"]
    modes = list(dict.fromkeys(r["mode"] for r in rows))
    return "\n".join(
        ["```", envinfo.header(doc["environment"], "none (tests/fake_driver.py in fast mode)"), "```", "",
         "%s %d statements, concurrency %d, %d interleaved rounds (medians); took %.0f s. "
         "Overhead = (impl − bare loop of the same round) / N."
         % (_source("micro.json", "python -m bench.micro --json bench/results/micro.json"), doc["statements"],
            doc["concurrency"], doc["rounds"], doc["elapsed_s"]), "",
         micro.format_table(rows, markdown=True), "", "```"] + micro.verdicts(rows, modes) + ["```"])


def publish():
    """Rewrite every generated section; return the files written."""
    written = []
    e2e = load("e2e.json")
    if e2e is not None:
        written.append(replace_section("bench-table", readme_text(e2e), README,
                                       ("<!-- bench-table -->", "<!-- /bench-table -->")))
        replace_section("e2e-results", e2e_text(e2e, "e2e.json", "ci/bench --record"), BENCH_DOC)
    full = load("e2e-full.json")
    full_cmd = "ci/bench --full --record"
    replace_section("e2e-full-results", e2e_text(full, "e2e-full.json", full_cmd, compact=True)
                    if full else _missing("e2e-full.json", full_cmd), BENCH_DOC)
    doc = load("micro.json")
    if doc is not None:
        replace_section("micro-results", micro_text(doc), BENCH_DOC)
    written.append(BENCH_DOC)
    doc = load("threads.json")
    threads_cmd = "python -m bench.threads --json bench/results/threads.json"
    written.append(replace_section("threads-results", threads.markdown(doc, threads_cmd)
                                   if doc else _missing("threads.json", threads_cmd), DESIGN_DOC))
    return written


def main(argv=None):
    if argv if argv is not None else sys.argv[1:]:
        print(__doc__)
        return 2
    for path in publish():
        print("rewrote %s" % os.path.relpath(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
