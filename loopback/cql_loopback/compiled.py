"""What every runnable statement is, and what it may touch."""
from __future__ import annotations

from typing import Protocol

from cql_loopback import wire
from cql_loopback.errors import invalid
from cql_loopback.storage import Table

VOID_BODY = wire.int_(wire.KIND_VOID)
NO_RESULT_METADATA = wire.rows_header(wire.META_NO_METADATA, 0)


class SessionState(Protocol):
    """The per-connection state statements read and write."""

    keyspace: str | None


class Compiled:
    """A statement ready to run.  Subclasses set the class flags."""

    faultable = False  # user DML: eligible for injected faults
    batchable = False  # allowed inside BATCH (then it implements apply())
    table: Table | None = None
    marker_count = 0
    bind_metadata = wire.rows_header(0, 0) + wire.int_(0)
    result_metadata = NO_RESULT_METADATA

    def run(self, session: SessionState, params: wire.QueryParameters) -> bytes:
        raise NotImplementedError

    def apply(self, values: list[bytes]) -> None:
        raise NotImplementedError

    def check_values(self, values: list[bytes]) -> None:
        if len(values) != self.marker_count:
            raise invalid(f"There were {self.marker_count} markers(?) in CQL but "
                          f"{len(values)} bound variables")
