"""CQL data types the loopback server knows: type options, literals, ordering.

Cells are kept in their wire form ([bytes] with the length prefix), so a type
only has to (1) describe itself in result metadata, (2) turn a CQL literal
into wire bytes, (3) validate a bound value's size and (4) give a sort key for
clustering order and range filters.
"""
from __future__ import annotations

import datetime
import struct
import uuid
from typing import Any, Callable

from cql_loopback import wire


class LiteralError(ValueError):
    """A CQL literal that does not fit the column's type."""


class CqlType:
    __slots__ = ("name", "option", "size", "_from_literal", "_decode", "user_table_ok")

    def __init__(self, name: str, option: bytes, size: int | None = None,
                 from_literal: Callable[[str, str], bytes] | None = None,
                 decode: Callable[[bytes], Any] = bytes, user_table_ok: bool = True) -> None:
        self.name = name
        self.option = option  # the [option] written in column specs
        self.size = size  # fixed value size, or None
        self._from_literal = from_literal
        self._decode = decode
        self.user_table_ok = user_table_ok

    def __repr__(self) -> str:
        return f"CqlType({self.name})"

    def literal(self, kind: str, text: str) -> bytes:
        """Wire cell ([bytes] with length) for a literal token of `kind`."""
        if kind == "id" and text.lower() == "null":
            return wire.NULL_VALUE
        if self._from_literal is None:
            raise LiteralError(f"literals of type {self.name} are not supported")
        try:
            return wire.value(self._from_literal(kind, text))
        except (ValueError, OverflowError, struct.error) as exc:
            raise LiteralError(f"invalid {self.name} literal {text!r}: {exc}") from None

    def valid_cell(self, cell: bytes) -> bool:
        """Whether a bound cell has an acceptable length (empty is allowed,
        as in Cassandra, for every type)."""
        size = self.size
        return size is None or len(cell) <= 4 or len(cell) == 4 + size

    def sort_key(self, cell: bytes) -> tuple[Any, ...]:
        """Comparable key of a non-null cell; empty values sort first."""
        if len(cell) <= 4:
            return (0,)
        return (1, self._decode(cell[4:]))


def _integer(fmt: str) -> Callable[[str, str], bytes]:
    def encode(kind: str, text: str) -> bytes:
        if kind != "num" or not _is_integer(text):
            raise ValueError("expected an integer")
        return struct.pack(fmt, int(text))
    return encode


def _is_integer(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _floating(fmt: str) -> Callable[[str, str], bytes]:
    def encode(kind: str, text: str) -> bytes:
        if kind == "num" or (kind == "id" and text.lower() in ("nan", "infinity")):
            return struct.pack(fmt, float(text))
        raise ValueError("expected a number")
    return encode


def _text(kind: str, text: str) -> bytes:
    if kind != "str":
        raise ValueError("expected a string")
    return text.encode("utf-8")


def _ascii(kind: str, text: str) -> bytes:
    if kind != "str":
        raise ValueError("expected a string")
    return text.encode("ascii")


def _blob(kind: str, text: str) -> bytes:
    if kind != "hex":
        raise ValueError("expected a 0x... blob")
    return bytes.fromhex(text[2:])


def _boolean(kind: str, text: str) -> bytes:
    if kind == "id" and text.lower() in ("true", "false"):
        return b"\x01" if text.lower() == "true" else b"\x00"
    raise ValueError("expected true or false")


def _uuid(kind: str, text: str) -> bytes:
    if kind != "uuid":
        raise ValueError("expected a uuid")
    return uuid.UUID(text).bytes


def _varint(kind: str, text: str) -> bytes:
    if kind != "num" or not _is_integer(text):
        raise ValueError("expected an integer")
    n = int(text)
    return n.to_bytes((n + (n < 0)).bit_length() // 8 + 1, "big", signed=True)


def _timestamp(kind: str, text: str) -> bytes:
    if kind == "num" and _is_integer(text):
        return struct.pack(">q", int(text))
    if kind == "str":
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        return struct.pack(">q", int(moment.timestamp() * 1000))
    raise ValueError("expected milliseconds or an ISO-8601 string")


def _inet(kind: str, text: str) -> bytes:
    if kind != "str":
        raise ValueError("expected a quoted address")
    return wire.inet_address(text)


def _signed(b: bytes) -> int:
    return int.from_bytes(b, "big", signed=True)


def _unpacker(fmt: str) -> Callable[[bytes], float]:
    s = struct.Struct(fmt)
    return lambda b: s.unpack(b)[0]


def _scalar(name: str, code: int, size: int | None = None,
            from_literal: Callable[[str, str], bytes] | None = None,
            decode: Callable[[bytes], Any] = bytes, user_table_ok: bool = True) -> CqlType:
    return CqlType(name, wire.short(code), size, from_literal, decode, user_table_ok)


_TEXT = _scalar("text", 0x000D, None, _text)
SCALARS: dict[str, CqlType] = {
    "ascii": _scalar("ascii", 0x0001, None, _ascii),
    "bigint": _scalar("bigint", 0x0002, 8, _integer(">q"), _signed),
    "blob": _scalar("blob", 0x0003, None, _blob),
    "boolean": _scalar("boolean", 0x0004, 1, _boolean),
    "counter": _scalar("counter", 0x0005, 8, None, _signed, user_table_ok=False),
    "double": _scalar("double", 0x0007, 8, _floating(">d"), _unpacker(">d")),
    "float": _scalar("float", 0x0008, 4, _floating(">f"), _unpacker(">f")),
    "int": _scalar("int", 0x0009, 4, _integer(">i"), _signed),
    "timestamp": _scalar("timestamp", 0x000B, 8, _timestamp, _signed),
    "uuid": _scalar("uuid", 0x000C, 16, _uuid),
    "text": _TEXT,
    "varchar": _TEXT,
    "varint": _scalar("varint", 0x000E, None, _varint, _signed),
    "timeuuid": _scalar("timeuuid", 0x000F, 16, _uuid),
    "inet": _scalar("inet", 0x0010, None, _inet),
    "smallint": _scalar("smallint", 0x0013, 2, _integer(">h"), _signed),
    "tinyint": _scalar("tinyint", 0x0014, 1, _integer(">b"), _signed),
}

_COLLECTIONS = {"list": (0x0020, 1), "map": (0x0021, 2), "set": (0x0022, 1)}


def parse_type(spec: str) -> CqlType:
    """A CqlType from its CQL spelling: "int", "set<text>", "frozen<map<text, int>>".

    Collections are only described (for system-table metadata), never
    filled from literals and not accepted in user tables.
    """
    spec = spec.strip().lower()
    if spec.startswith("frozen<") and spec.endswith(">"):
        return parse_type(spec[len("frozen<"):-1])
    if spec in SCALARS:
        return SCALARS[spec]
    base, _, rest = spec.partition("<")
    if base in _COLLECTIONS and rest.endswith(">"):
        code, arity = _COLLECTIONS[base]
        params = [parse_type(p) for p in _split_type_params(rest[:-1])]
        if len(params) != arity:
            raise LiteralError(f"{base} takes {arity} type parameter(s): {spec!r}")
        option = wire.short(code) + b"".join(p.option for p in params)
        return CqlType(spec, option, None, None, bytes, user_table_ok=False)
    raise LiteralError(f"unknown or unsupported type {spec!r}")


def _split_type_params(inner: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    return parts


def value_cell(t: CqlType, value: Any) -> bytes:
    """Wire cell for a Python value; used to build the constant system rows."""
    if value is None:
        return wire.NULL_VALUE
    if t.name in ("text", "varchar", "ascii"):
        return wire.value(value.encode("utf-8"))
    if t.name in ("uuid", "timeuuid"):
        return wire.value(value.bytes)
    if t.name == "inet":
        return wire.value(wire.inet_address(value))
    if t.name == "int":
        return wire.value(struct.pack(">i", value))
    if t.name.startswith(("set<", "list<")) and t.name.endswith("<text>"):
        items = [s.encode("utf-8") for s in value]
        return wire.value(wire.int_(len(items)) + b"".join(wire.value(s) for s in items))
    raise LiteralError(f"no Python conversion for {t.name}")
