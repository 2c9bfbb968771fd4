"""Rewrite one generated section of a Markdown file in place.

A section is the text between two marker lines, by default
``<!-- BEGIN name -->`` and ``<!-- END name -->`` of docs/benchmarks.md;
everything else in the file is left alone.
"""
from __future__ import annotations

import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(REPO, "docs", "benchmarks.md")


def replace_section(name, text, path=DOCS, markers=None):
    begin, end = markers or ("<!-- BEGIN %s -->" % name, "<!-- END %s -->" % name)
    try:
        with open(path) as fh:
            doc = fh.read()
    except OSError as exc:
        raise RuntimeError("cannot read %s: %s" % (path, exc)) from None
    i, j = doc.find(begin), doc.find(end)
    if i < 0 or j < i:
        raise RuntimeError("%s has no '%s' ... '%s' section to rewrite" % (path, begin, end))
    new = doc[: i + len(begin)] + "\n" + text.rstrip("\n") + "\n" + doc[j:]
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(new)
    os.replace(tmp, path)
    return path
