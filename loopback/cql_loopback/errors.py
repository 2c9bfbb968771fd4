"""Server errors (spec section 9) with the exact body each code requires.

The body layouts are what the driver's decoder reads after <code><message>;
a missing or extra field would make it mis-decode the whole frame.
"""
from __future__ import annotations

from cql_loopback import wire

SERVER_ERROR = 0x0000
PROTOCOL_ERROR = 0x000A
UNAVAILABLE = 0x1000
OVERLOADED = 0x1001
WRITE_TIMEOUT = 0x1100
READ_TIMEOUT = 0x1200
SYNTAX_ERROR = 0x2000
INVALID = 0x2200
CONFIG_ERROR = 0x2300
ALREADY_EXISTS = 0x2400
UNPREPARED = 0x2500


class CqlError(Exception):
    """An ERROR response: raise it anywhere while handling a request."""

    def __init__(self, code: int, message: str, extra: bytes = b"") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra  # code-specific fields following the message

    def body(self) -> bytes:
        return wire.int_(self.code) + wire.string(self.message) + self.extra


def protocol_error(message: str) -> CqlError:
    return CqlError(PROTOCOL_ERROR, message)


def invalid(message: str) -> CqlError:
    return CqlError(INVALID, message)


def syntax_error(message: str) -> CqlError:
    return CqlError(SYNTAX_ERROR, message)


def config_error(message: str) -> CqlError:
    return CqlError(CONFIG_ERROR, message)


def already_exists(keyspace: str, table: str = "") -> CqlError:
    what = f"table {keyspace}.{table}" if table else f"keyspace {keyspace}"
    return CqlError(ALREADY_EXISTS, f"Cannot add already existing {what}",
                    wire.string(keyspace) + wire.string(table))


def unprepared(statement_id: bytes) -> CqlError:
    return CqlError(UNPREPARED, f"Prepared query with ID {statement_id.hex()} not found",
                    wire.short_bytes(statement_id))


def _unavailable(consistency: int, batch: bool) -> CqlError:
    # required > alive: an honest "not enough replicas" report.
    return CqlError(UNAVAILABLE, "Cannot achieve consistency level (injected)",
                    wire.short(consistency) + wire.int_(1) + wire.int_(0))


def _write_timeout(consistency: int, batch: bool) -> CqlError:
    # received < blockfor, and a write type the default retry policy never
    # retries (it retries only BATCH_LOG), so the error reaches the caller.
    write_type = "BATCH" if batch else "SIMPLE"
    return CqlError(WRITE_TIMEOUT, "Operation timed out - received only 0 responses (injected)",
                    wire.short(consistency) + wire.int_(0) + wire.int_(1) + wire.string(write_type))


def _read_timeout(consistency: int, batch: bool) -> CqlError:
    # received < blockfor: the default retry policy rethrows instead of retrying.
    return CqlError(READ_TIMEOUT, "Operation timed out - received only 0 responses (injected)",
                    wire.short(consistency) + wire.int_(0) + wire.int_(1) + b"\x00")


def _overloaded(consistency: int, batch: bool) -> CqlError:
    return CqlError(OVERLOADED, "Coordinator overloaded (injected)")


def _server_error(consistency: int, batch: bool) -> CqlError:
    return CqlError(SERVER_ERROR, "Internal server error (injected)")


def _invalid(consistency: int, batch: bool) -> CqlError:
    return invalid("Invalid request (injected)")


# error= names accepted by CQLServer, and the driver exception each becomes.
INJECTABLE = {
    "invalid": _invalid,
    "write_timeout": _write_timeout,
    "read_timeout": _read_timeout,
    "unavailable": _unavailable,
    "overloaded": _overloaded,
    "server_error": _server_error,
}


def injected(name: str, consistency: int, batch: bool) -> CqlError:
    return INJECTABLE[name](consistency, batch)
