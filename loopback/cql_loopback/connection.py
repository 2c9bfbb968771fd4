"""One client connection: framing, the handshake, request dispatch, faults.

CPU matters here (the client is what a benchmark measures), hence an
asyncio Protocol rather than streams: every complete frame of one
`data_received` is handled in one pass and all of its responses leave in a
single `transport.write`.
"""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Callable, cast

from cql_loopback import errors, wire
from cql_loopback.compiled import VOID_BODY, Compiled, SessionState
from cql_loopback.errors import CqlError
from cql_loopback.faults import DROP, ERROR

if TYPE_CHECKING:
    from cql_loopback.runtime import ServerRuntime

log = logging.getLogger(__name__)

# Cassandra 4's default native_transport_max_frame_size: larger declared
# bodies are refused before being buffered.
MAX_BODY = 16 * 1024 * 1024
# How long a connection we closed may wait for the client to close its end.
_LINGER_SECONDS = 2.0

_HEADER = wire.HEADER
_HEADER_SIZE = wire.HEADER_SIZE
_frame = wire.frame
_RESULT = wire.RESULT
_ERROR = wire.ERROR
_READY = wire.READY
_BATCH_BODY_FLAGS_SERIAL = wire.QP_SERIAL_CONSISTENCY
_BATCH_BODY_FLAGS_TIMESTAMP = wire.QP_TIMESTAMP


class _Batch(Compiled):
    """A BATCH's statements, run as one unit once faults have been decided."""

    def __init__(self, items: list[tuple[Compiled, list[bytes]]]) -> None:
        self.items = items

    def run(self, session: SessionState, params: wire.QueryParameters) -> bytes:
        for compiled, values in self.items:
            compiled.check_values(values)
        for compiled, values in self.items:
            compiled.apply(values)
        return VOID_BODY


class CqlConnection(asyncio.Protocol):
    """`context` holds what connections share: engine, faults, counters, shards."""

    transport: asyncio.Transport  # set by connection_made, before any other callback

    def __init__(self, context: ServerRuntime, shard_aware_listener: bool = False) -> None:
        self.context = context
        self.engine = context.engine
        self.shard_aware_listener = shard_aware_listener
        self.shard: int | None = None
        self.keyspace: str | None = None  # set by USE; read by the engine
        self._started = False
        # An incomplete frame, kept as chunks until `_needed` bytes are there:
        # joining on every read would be quadratic in the frame's size.
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._needed = 0
        self._user_requests = 0
        self._closing = False
        self._out: list[bytes] = []
        self._late: list[bytes] = []

    # -- asyncio callbacks ------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.shard = self.context.connection_opened(self, self.shard_aware_listener, peer[1] if peer else 0)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self.context.connection_closed(self)

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        if self._chunks:
            self._chunks.append(data)
            self._buffered += len(data)
            if self._buffered < self._needed:
                return
            buf = b"".join(self._chunks)
            self._chunks = []
        else:
            buf = data
        end = len(buf)
        pos = 0
        needed = _HEADER_SIZE
        out = self._out
        while end - pos >= _HEADER_SIZE:
            version, flags, stream, opcode, length = _HEADER.unpack_from(buf, pos)
            if version != 4 or length < 0 or length > MAX_BODY:
                out.append(self._framing_error(version, stream, length))
                self._closing = True  # the byte stream can no longer be trusted
                break
            body_end = pos + _HEADER_SIZE + length
            if body_end > end:
                needed = _HEADER_SIZE + length
                break
            self._handle(flags, stream, opcode, buf, pos + _HEADER_SIZE, body_end)
            pos = body_end
            if self._closed_by_request():
                break
        if pos < end and not self._closing:
            self._chunks = [buf[pos:]]
            self._buffered = end - pos
            self._needed = needed
        self._flush()

    def _closed_by_request(self) -> bool:
        return self._closing  # a handler may have set it (close_after)

    # -- framing ----------------------------------------------------------
    def _flush(self) -> None:
        out, late = self._out, self._late
        if out:
            self.transport.write(out[0] if len(out) == 1 else b"".join(out))
            self.context.answered += len(out)
            out.clear()
        if late:
            loop = asyncio.get_running_loop()
            loop.call_later(self.context.faults.settings.delay, self._write_late, b"".join(late), len(late))
            late.clear()
        if self._closing:
            self._shut_down()

    def _shut_down(self) -> None:
        """Close after the queued responses, without losing them.

        A plain close() while the client's next requests sit unread in our
        socket makes the kernel send RST, and an RST can destroy responses
        the client has not read yet.  So: half-close (FIN after the data),
        ignore what still arrives, and let the client close; close for good
        after a grace period in case it never does.
        """
        transport = self.transport
        if transport.is_closing():
            return
        if transport.can_write_eof():
            transport.write_eof()
            asyncio.get_running_loop().call_later(_LINGER_SECONDS, transport.close)
        else:
            transport.close()

    def _write_late(self, data: bytes, count: int) -> None:
        # Held-back responses of a connection closed meanwhile are lost.
        if not (self._closing or self.transport.is_closing()):
            self.transport.write(data)
            self.context.answered += count

    @staticmethod
    def _framing_error(version: int, stream: int, length: int) -> bytes:
        if version & wire.DIRECTION_RESPONSE:
            message = "Invalid message direction: got a response frame from a client"
        elif version != 4:
            # The driver looks for "unsupported protocol version" to step
            # down from v5 to v4.
            message = (f"Invalid or unsupported protocol version ({version}); "
                       "supported versions are (4/v4)")
        else:
            message = f"Invalid frame body length {length} (limit {MAX_BODY})"
        # A v3 client can still read a v3-versioned header; others get ours.
        reply_version = 0x80 | version if version == 3 else wire.RESPONSE_VERSION_BYTE
        return _frame(stream, _ERROR, errors.protocol_error(message).body(), reply_version)

    def _handle(self, flags: int, stream: int, opcode: int, buf: bytes, start: int, end: int) -> None:
        try:
            reader = wire.Reader(buf, start, end)
            if flags & wire.FLAG_COMPRESSION:
                raise errors.protocol_error("Compressed frame received but compression was not negotiated")
            if flags & wire.FLAG_CUSTOM_PAYLOAD:
                reader.bytes_map()
            handler = _HANDLERS.get(opcode)
            if handler is None:
                name = wire.OPCODE_NAMES.get(opcode)
                raise errors.protocol_error(f"Unexpected message {name} from a client" if name
                                            else f"Unknown opcode 0x{opcode:02x}")
            if not self._started and opcode not in (wire.OPTIONS, wire.STARTUP):
                raise errors.protocol_error(
                    f"Unexpected message {wire.OPCODE_NAMES[opcode]}, expecting STARTUP or OPTIONS")
            handler(self, reader, stream)
        except CqlError as exc:
            self._out.append(_frame(stream, _ERROR, exc.body()))
        except (wire.Truncated, UnicodeDecodeError) as exc:
            self._out.append(_frame(stream, _ERROR, errors.protocol_error(f"Invalid frame body: {exc}").body()))
        except Exception as exc:  # a server bug: report it, keep serving
            log.exception("loopback CQL server failed on opcode 0x%02x", opcode)
            self._out.append(_frame(stream, _ERROR, CqlError(errors.SERVER_ERROR, repr(exc)).body()))

    # -- requests ---------------------------------------------------------
    def _on_options(self, reader: wire.Reader, stream: int) -> None:
        self._out.append(_frame(stream, wire.SUPPORTED, self.context.supported_body(self.shard)))

    def _on_startup(self, reader: wire.Reader, stream: int) -> None:
        options = reader.string_map()
        if "CQL_VERSION" not in options:
            raise errors.protocol_error("Missing value CQL_VERSION in STARTUP message")
        if options.get("COMPRESSION"):
            raise errors.protocol_error(f"Unknown compression algorithm: {options['COMPRESSION']}")
        self._started = True
        self._out.append(_frame(stream, _READY, b""))

    def _on_register(self, reader: wire.Reader, stream: int) -> None:
        reader.string_list()  # events are accepted but never pushed: nothing changes
        self._out.append(_frame(stream, _READY, b""))

    def _on_prepare(self, reader: wire.Reader, stream: int) -> None:
        body = self.engine.prepare(reader.long_string(), self.keyspace)
        self._out.append(_frame(stream, _RESULT, body))

    def _on_query(self, reader: wire.Reader, stream: int) -> None:
        query = reader.long_string()
        params = wire.read_query_parameters(reader)
        self._statement(stream, self.engine.compile(query, self.keyspace), params)

    def _on_execute(self, reader: wire.Reader, stream: int) -> None:
        statement_id = reader.short_bytes()
        params = wire.read_query_parameters(reader)
        self._statement(stream, self.engine.prepared(statement_id), params)

    def _on_batch(self, reader: wire.Reader, stream: int) -> None:
        reader.byte()  # LOGGED / UNLOGGED / COUNTER: all applied the same way
        items = []
        for _ in range(reader.short()):
            kind = reader.byte()
            if kind == 0:
                compiled = self.engine.compile(reader.long_string(), self.keyspace)
            elif kind == 1:
                compiled = self.engine.prepared(reader.short_bytes())
            else:
                raise errors.protocol_error(f"Invalid query kind in BATCH message: {kind}")
            items.append((compiled, [reader.raw_value() for _ in range(reader.short())]))
        consistency = reader.short()
        flags = reader.byte()
        if flags & _BATCH_BODY_FLAGS_SERIAL:
            reader.short()
        if flags & _BATCH_BODY_FLAGS_TIMESTAMP:
            reader.int64()
        if not all(compiled.batchable for compiled, _ in items):
            raise errors.invalid("Invalid statement in batch: only UPDATE, INSERT and DELETE "
                                 "statements are allowed.")
        params = wire.QueryParameters(consistency, [], False, 0, None)
        self._user_request(stream, _Batch(items), params, batch=True)

    def _statement(self, stream: int, compiled: Compiled, params: wire.QueryParameters) -> None:
        if compiled.faultable:
            self._user_request(stream, compiled, params, batch=False)
        else:
            self._out.append(_frame(stream, _RESULT, compiled.run(self, params)))

    def _user_request(self, stream: int, compiled: Compiled, params: wire.QueryParameters, batch: bool) -> None:
        context = self.context
        action = context.faults.next_action()
        settings = context.faults.settings
        self._user_requests += 1
        if settings.close_after and self._user_requests >= settings.close_after:
            self._closing = True  # this response still goes out, then the socket closes
        if action == DROP:
            return
        if action == ERROR:
            response = _frame(stream, _ERROR, errors.injected(settings.error, params.consistency, batch).body())
        else:
            try:
                response = _frame(stream, _RESULT, compiled.run(self, params))
            except CqlError as exc:
                response = _frame(stream, _ERROR, exc.body())
        (self._late if settings.delay > 0 else self._out).append(response)

    def _on_auth_response(self, reader: wire.Reader, stream: int) -> None:
        raise errors.protocol_error("Unexpected message AUTH_RESPONSE: authentication is not enabled")


_HANDLERS: dict[int, Callable[[CqlConnection, wire.Reader, int], None]] = {
    wire.OPTIONS: CqlConnection._on_options,
    wire.STARTUP: CqlConnection._on_startup,
    wire.REGISTER: CqlConnection._on_register,
    wire.PREPARE: CqlConnection._on_prepare,
    wire.QUERY: CqlConnection._on_query,
    wire.EXECUTE: CqlConnection._on_execute,
    wire.BATCH: CqlConnection._on_batch,
    wire.AUTH_RESPONSE: CqlConnection._on_auth_response,
}
