"""Fault-injection settings and the per-request decision.

Faults apply only to user requests: QUERY/EXECUTE of SELECT, INSERT, UPDATE
or DELETE on a non-system keyspace, and BATCH.  The handshake, the driver's
system-table reads, USE and DDL are never faulted, so connecting, schema
refreshes and test set-up stay reliable whatever is injected.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from cql_loopback.errors import INJECTABLE

NONE, ERROR, DROP = 0, 1, 2


@dataclass(frozen=True)
class FaultSettings:
    error_every: int = 0
    error: str = "invalid"
    delay: float = 0.0
    close_after: int = 0
    drop_every: int = 0

    def __post_init__(self) -> None:
        for name in ("error_every", "close_after", "drop_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be an int >= 0, not {value!r}")
        if self.error not in INJECTABLE:
            raise ValueError(f"error must be one of {sorted(INJECTABLE)}, not {self.error!r}")
        if not isinstance(self.delay, (int, float)) or self.delay < 0:
            raise ValueError(f"delay must be a number >= 0, not {self.delay!r}")

    def updated(self, **changes: Any) -> FaultSettings:
        unknown = set(changes) - set(asdict(self))
        if unknown:
            raise TypeError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Faults:
    """Server-wide: counts user requests since the last configure()."""

    __slots__ = ("settings", "seen", "active")

    def __init__(self, settings: FaultSettings) -> None:
        self.configure(settings)

    def configure(self, settings: FaultSettings) -> None:
        self.settings = settings
        self.seen = 0  # so "every K-th" counts from the moment of the change
        self.active = bool(settings.error_every or settings.drop_every)

    def next_action(self) -> int:
        if not self.active:
            return NONE
        self.seen += 1
        s = self.settings
        if s.drop_every and self.seen % s.drop_every == 0:
            return DROP
        if s.error_every and self.seen % s.error_every == 0:
            return ERROR
        return NONE
