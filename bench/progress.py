"""A progress bar on stderr: tqdm when installed, else a plain counter."""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total, desc):
        self.total = total
        self.desc = desc
        self.n = 0
        self._bar = None
        self._last = 0.0
        try:
            from tqdm import tqdm
        except ImportError:
            tqdm = None
        if tqdm is not None:
            self._bar = tqdm(total=total, desc=desc, file=sys.stderr, leave=False, dynamic_ncols=True)

    def step(self, note=None):
        self.n += 1
        if self._bar is not None:
            if note:
                self._bar.set_postfix_str(note, refresh=False)
            self._bar.update(1)
            return
        now = time.monotonic()
        if now - self._last >= 1.0 or self.n == self.total:
            self._last = now
            sys.stderr.write("\r%s: %d/%d %s" % (self.desc, self.n, self.total, note or ""))
            sys.stderr.flush()

    def write(self, text):
        """Print a line without breaking the bar."""
        if self._bar is not None:
            self._bar.write(text)
        else:
            sys.stderr.write("\r" + text + "\n")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.close()
        elif self.n:
            sys.stderr.write("\n")
