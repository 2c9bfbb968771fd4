"""CQL native protocol v4 wire format: frame header, opcodes, notation types.

Only what a server needs: decode request bodies, encode response bodies.
Names follow section 3 ("Notations") of native_protocol_v4.spec.
"""
from __future__ import annotations

import socket
import struct
from collections.abc import Iterable

PROTOCOL_VERSION = 4
RESPONSE_VERSION_BYTE = 0x80 | PROTOCOL_VERSION
DIRECTION_RESPONSE = 0x80
HEADER = struct.Struct(">BBhBi")  # version, flags, stream, opcode, body length
HEADER_SIZE = HEADER.size

# Opcodes (spec section 2.4).
ERROR = 0x00
STARTUP = 0x01
READY = 0x02
AUTHENTICATE = 0x03
OPTIONS = 0x05
SUPPORTED = 0x06
QUERY = 0x07
RESULT = 0x08
PREPARE = 0x09
EXECUTE = 0x0A
REGISTER = 0x0B
EVENT = 0x0C
BATCH = 0x0D
AUTH_CHALLENGE = 0x0E
AUTH_RESPONSE = 0x0F
AUTH_SUCCESS = 0x10

OPCODE_NAMES = {
    ERROR: "ERROR", STARTUP: "STARTUP", READY: "READY", AUTHENTICATE: "AUTHENTICATE",
    OPTIONS: "OPTIONS", SUPPORTED: "SUPPORTED", QUERY: "QUERY", RESULT: "RESULT",
    PREPARE: "PREPARE", EXECUTE: "EXECUTE", REGISTER: "REGISTER", EVENT: "EVENT",
    BATCH: "BATCH", AUTH_CHALLENGE: "AUTH_CHALLENGE", AUTH_RESPONSE: "AUTH_RESPONSE",
    AUTH_SUCCESS: "AUTH_SUCCESS",
}

# Frame header flags (spec section 2.2).
FLAG_COMPRESSION = 0x01
FLAG_TRACING = 0x02
FLAG_CUSTOM_PAYLOAD = 0x04

# <query_parameters> flags (spec section 4.1.4).
QP_VALUES = 0x01
QP_SKIP_METADATA = 0x02
QP_PAGE_SIZE = 0x04
QP_PAGING_STATE = 0x08
QP_SERIAL_CONSISTENCY = 0x10
QP_TIMESTAMP = 0x20
QP_NAMES_FOR_VALUES = 0x40

# RESULT kinds (spec section 4.2.5).
KIND_VOID = 1
KIND_ROWS = 2
KIND_SET_KEYSPACE = 3
KIND_PREPARED = 4
KIND_SCHEMA_CHANGE = 5

# Rows metadata flags.
META_GLOBAL_TABLES_SPEC = 0x0001
META_HAS_MORE_PAGES = 0x0002
META_NO_METADATA = 0x0004

_INT = struct.Struct(">i")
_SHORT = struct.Struct(">H")
_INT_INT = struct.Struct(">ii")
_LONG = struct.Struct(">q")
_pack_int = _INT.pack
_pack_short = _SHORT.pack
_unpack_int = _INT.unpack_from
_unpack_short = _SHORT.unpack_from

NULL_VALUE = b"\xff\xff\xff\xff"  # a [bytes] of length -1
UNSET_VALUE = b"\xff\xff\xff\xfe"  # a [value] of length -2 (protocol v4+)


class Truncated(Exception):
    """A request body ended before one of its declared fields did."""


class Reader:
    """Sequential reader over one request body; every read is bounds-checked."""

    __slots__ = ("buf", "pos", "end")

    def __init__(self, buf: bytes, pos: int = 0, end: int | None = None) -> None:
        self.buf = buf
        self.pos = pos
        self.end = len(buf) if end is None else end

    def _take(self, n: int) -> int:
        start = self.pos
        if n < 0 or start + n > self.end:
            raise Truncated(f"needs {n} bytes at offset {start}, body has {self.end - start} left")
        self.pos = start + n
        return start

    def remaining(self) -> int:
        return self.end - self.pos

    def byte(self) -> int:
        return self.buf[self._take(1)]

    def short(self) -> int:
        value: int = _unpack_short(self.buf, self._take(2))[0]
        return value

    def int32(self) -> int:
        value: int = _unpack_int(self.buf, self._take(4))[0]
        return value

    def int64(self) -> int:
        value: int = _LONG.unpack_from(self.buf, self._take(8))[0]
        return value

    def string(self) -> str:
        n = self.short()
        start = self._take(n)
        return self.buf[start:start + n].decode("utf-8")

    def long_string(self) -> str:
        n = self.int32()
        start = self._take(n)
        return self.buf[start:start + n].decode("utf-8")

    def short_bytes(self) -> bytes:
        n = self.short()
        start = self._take(n)
        return bytes(self.buf[start:start + n])

    def bytes_or_none(self) -> bytes | None:
        n = self.int32()
        if n < 0:
            return None
        start = self._take(n)
        return bytes(self.buf[start:start + n])

    def raw_value(self) -> bytes:
        """A [value] with its 4-byte length prefix kept: the server stores and
        returns cells in exactly this encoding, so a bound value goes from the
        request into a response without being re-encoded."""
        start = self.pos
        n = self.int32()
        if n > 0:
            self._take(n)
        elif n < -2:
            raise Truncated(f"invalid value length {n}")
        return bytes(self.buf[start:self.pos])

    def string_list(self) -> list[str]:
        return [self.string() for _ in range(self.short())]

    def string_map(self) -> dict[str, str]:
        out = {}
        for _ in range(self.short()):
            key = self.string()
            out[key] = self.string()
        return out

    def bytes_map(self) -> dict[str, bytes | None]:
        out = {}
        for _ in range(self.short()):
            key = self.string()
            out[key] = self.bytes_or_none()
        return out


class QueryParameters:
    """The decoded <query_parameters> of a QUERY or EXECUTE."""

    __slots__ = ("consistency", "values", "skip_metadata", "page_size", "paging_state")

    def __init__(self, consistency: int, values: list[bytes], skip_metadata: bool, page_size: int,
                 paging_state: bytes | None) -> None:
        self.consistency = consistency
        self.values = values
        self.skip_metadata = skip_metadata
        self.page_size = page_size
        self.paging_state = paging_state


def read_query_parameters(r: Reader) -> QueryParameters:
    consistency = r.short()
    flags = r.byte()
    values: list[bytes] = []
    if flags & QP_VALUES:
        count = r.short()
        if flags & QP_NAMES_FOR_VALUES:
            for _ in range(count):
                r.string()  # names are accepted but bound positionally
                values.append(r.raw_value())
        else:
            values = _read_values(r, count)
    page_size = r.int32() if flags & QP_PAGE_SIZE else 0
    paging_state = r.bytes_or_none() if flags & QP_PAGING_STATE else None
    if flags & QP_SERIAL_CONSISTENCY:
        r.short()
    if flags & QP_TIMESTAMP:
        r.int64()
    return QueryParameters(consistency, values, bool(flags & QP_SKIP_METADATA), page_size, paging_state)


def _read_values(r: Reader, count: int) -> list[bytes]:
    """`count` [value]s, as Reader.raw_value would read them, inlined: this
    is the per-request hot loop of every EXECUTE."""
    buf, pos, end = r.buf, r.pos, r.end
    values = []
    for _ in range(count):
        if pos + 4 > end:
            raise Truncated(f"value length at offset {pos} is past the end of the body")
        n: int = _unpack_int(buf, pos)[0]
        stop = pos + 4 + n if n > 0 else pos + 4
        if stop > end or n < -2:
            raise Truncated(f"invalid value length {n} at offset {pos}")
        values.append(buf[pos:stop])
        pos = stop
    r.pos = pos
    return values


# --- encoding -------------------------------------------------------------

def frame(stream: int, opcode: int, body: bytes, version_byte: int = RESPONSE_VERSION_BYTE) -> bytes:
    return HEADER.pack(version_byte, 0, stream, opcode, len(body)) + body


def int_(i: int) -> bytes:
    return _pack_int(i)


def short(i: int) -> bytes:
    return _pack_short(i)


def string(s: str) -> bytes:
    data = s.encode("utf-8")
    return _pack_short(len(data)) + data


def long_string(s: str) -> bytes:
    data = s.encode("utf-8")
    return _pack_int(len(data)) + data


def short_bytes(b: bytes) -> bytes:
    return _pack_short(len(b)) + b


def value(b: bytes | None) -> bytes:
    """[bytes]: length-prefixed, or length -1 for null."""
    if b is None:
        return NULL_VALUE
    return _pack_int(len(b)) + b


def string_list(items: Iterable[str]) -> bytes:
    items = list(items)
    return _pack_short(len(items)) + b"".join(string(s) for s in items)


def string_map(m: dict[str, str]) -> bytes:
    return _pack_short(len(m)) + b"".join(string(k) + string(v) for k, v in m.items())


def string_multimap(m: dict[str, list[str]]) -> bytes:
    return _pack_short(len(m)) + b"".join(string(k) + string_list(v) for k, v in m.items())


def inet_address(address: str) -> bytes:
    """The raw bytes of an IPv4/IPv6 address, as stored in an `inet` cell."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return socket.inet_pton(family, address)


def rows_header(flags: int, column_count: int) -> bytes:
    return _INT_INT.pack(flags, column_count)
