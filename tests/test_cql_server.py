"""Protocol-level tests of the loopback CQL server (cql_loopback).

Valid requests are encoded, and every response decoded, by the driver's own
codec (cassandra.protocol), so "the driver understands it" is what is tested;
malformed input is hand-made bytes on a raw socket.
"""
from __future__ import annotations

import io
import socket
import struct
import sys
import time
import uuid
from datetime import datetime

import pytest
from cassandra import (
    AlreadyExists,
    ConsistencyLevel,
    InvalidRequest,
    ReadTimeout,
    Unavailable,
    WriteTimeout,
    WriteType,
)
from cassandra.cqltypes import Int32Type, UTF8Type
from cassandra.protocol import (
    BatchMessage,
    ErrorMessage,
    ExecuteMessage,
    InvalidRequestException,
    OptionsMessage,
    OverloadedErrorMessage,
    PrepareMessage,
    ProtocolException,
    ProtocolHandler,
    QueryMessage,
    ReadTimeoutErrorMessage,
    ReadyMessage,
    RegisterMessage,
    ResultMessage,
    ServerError,
    StartupMessage,
    SupportedMessage,
    SyntaxException,
    UnavailableErrorMessage,
    WriteTimeoutErrorMessage,
)
from cassandra.protocol_features import ProtocolFeatures
from cassandra.query import BatchStatement, BatchType, SimpleStatement

from cql_loopback import CQLServer

pytestmark = pytest.mark.timeout(60)

FEATURES = ProtocolFeatures()
HEADER = struct.Struct(">BBhBi")
KS = "rawks"


# --- a raw CQL client ---------------------------------------------------------

class RawClient:
    """A socket speaking CQL v4 through the driver's encoder and decoder."""

    def __init__(self, port: int, source_port: int | None = None) -> None:
        source = ("127.0.0.1", source_port) if source_port is not None else None
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=source)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = b""
        self._stream = 0

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def encode(self, message, stream: int | None = None) -> tuple[int, bytes]:
        if stream is None:
            self._stream += 1
            stream = self._stream
        return stream, ProtocolHandler.encode_message(message, stream, 4, None, False, FEATURES)

    def _read_exactly(self, n: int) -> bytes | None:
        while len(self._buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self._buf += chunk
        data, self._buf = self._buf[:n], self._buf[n:]
        return data

    def read_frame(self):
        """(version, flags, stream, opcode, body), or None at end of stream."""
        header = self._read_exactly(9)
        if header is None:
            return None
        version, flags, stream, opcode, length = HEADER.unpack(header)
        body = self._read_exactly(length)
        assert body is not None, "connection closed in the middle of a frame"
        return version, flags, stream, opcode, body

    def read_message(self, result_metadata=None):
        frame = self.read_frame()
        assert frame is not None, "connection closed instead of answering"
        return frame[2], decode(frame, result_metadata)

    def request(self, message, result_metadata=None):
        stream, data = self.encode(message)
        self.send(data)
        got_stream, response = self.read_message(result_metadata)
        assert got_stream == stream
        return response

    def handshake(self) -> None:
        assert isinstance(self.request(OptionsMessage()), SupportedMessage)
        assert isinstance(self.request(StartupMessage(cqlversion="3.4.5", options={})), ReadyMessage)

    def query(self, cql: str, values=None, **kwargs):
        return self.request(QueryMessage(cql, ConsistencyLevel.ONE, query_params=values, **kwargs))

    def at_eof(self) -> bool:
        return self._read_exactly(1) is None


def decode(frame, result_metadata=None):
    version, flags, stream, opcode, body = frame
    assert version == 0x84, f"response version byte {version:#x}"
    return ProtocolHandler.decode_message(4, FEATURES, {}, stream, flags, opcode, body, None, result_metadata)


def frame_bytes(opcode: int, body: bytes = b"", *, version: int = 4, flags: int = 0, stream: int = 1,
                length: int | None = None) -> bytes:
    return HEADER.pack(version, flags, stream, opcode, len(body) if length is None else length) + body


def int32(v: int) -> bytes:
    return Int32Type.serialize(v, 4)


def text(v: str) -> bytes:
    return UTF8Type.serialize(v, 4)


def assert_rows(result, expected) -> None:
    assert isinstance(result, ResultMessage), result
    assert [tuple(r) for r in result.parsed_rows] == expected


@pytest.fixture(scope="module")
def server():
    with CQLServer() as srv:
        client = RawClient(srv.port)
        try:
            client.handshake()
            client.query(f"CREATE KEYSPACE {KS} WITH replication = "
                         "{'class': 'SimpleStrategy', 'replication_factor': 1}")
            client.query(f"CREATE TABLE {KS}.t (k int, c int, v text, PRIMARY KEY (k, c))")
        finally:
            client.close()
        yield srv


@pytest.fixture
def client(server):
    c = RawClient(server.port)
    c.handshake()
    yield c
    c.close()


# --- handshake and system tables ----------------------------------------------

def test_supported_options(client):
    supported = client.request(OptionsMessage())
    assert supported.cql_versions == ["3.4.5"]
    assert supported.options["COMPRESSION"] == []
    assert "SCYLLA_SHARD" not in supported.options  # Cassandra look-alike by default


def test_register_is_ready(client):
    assert isinstance(client.request(RegisterMessage(["SCHEMA_CHANGE", "STATUS_CHANGE"])), ReadyMessage)


def test_system_local_has_every_column_the_driver_reads(client, server):
    columns = ("broadcast_address, cluster_name, data_center, host_id, listen_address, partitioner, "
               "rack, release_version, rpc_address, schema_version, tokens")
    result = client.query(f"SELECT {columns} FROM system.local WHERE key='local' USING TIMEOUT 2000ms")
    (row,) = result.parsed_rows
    local = dict(zip(result.column_names, row))
    assert local["rpc_address"] == local["broadcast_address"] == local["listen_address"] == server.host
    assert local["partitioner"] == "org.apache.cassandra.dht.Murmur3Partitioner"
    assert local["data_center"] and local["rack"] and local["cluster_name"]
    assert isinstance(local["host_id"], uuid.UUID) and isinstance(local["schema_version"], uuid.UUID)
    assert local["release_version"].startswith("3.")
    assert local["tokens"]


def test_system_peers_empty_and_peers_v2_unconfigured(client):
    assert_rows(client.query("SELECT * FROM system.peers"), [])
    response = client.query("SELECT * FROM system.peers_v2")
    assert isinstance(response, InvalidRequestException)
    assert "peers_v2" in response.message


def test_system_schema_tables_answer_empty(client):
    for table in ("keyspaces", "tables", "columns", "indexes", "triggers", "types", "functions",
                  "aggregates", "views"):
        result = client.query(f"SELECT * FROM system_schema.{table} WHERE keyspace_name = '{KS}'")
        assert_rows(result, [])
        assert "keyspace_name" in result.column_names


def test_unknown_system_column_is_invalid(client):
    assert isinstance(client.query("SELECT dse_version FROM system.local WHERE key='local'"),
                      InvalidRequestException)


def test_use_keyspace_sets_keyspace(client):
    result = client.query(f"USE {KS}")
    assert result.new_keyspace == KS
    client.query("INSERT INTO t (k, c, v) VALUES (900, 1, 'unqualified')")
    assert_rows(client.query("SELECT v FROM t WHERE k = 900"), [("unqualified",)])
    assert isinstance(client.query("USE nope"), InvalidRequestException)


# --- malformed input -------------------------------------------------------------

_OPTIONS = 0x05
_QUERY = 0x07
_RESULT = 0x08
_EXECUTE = 0x0A

MALFORMED = [
    # (id, bytes, handshake first, connection closed afterwards)
    ("version-0", frame_bytes(_OPTIONS, version=0x00), False, True),
    ("version-5-probe", frame_bytes(_OPTIONS, version=0x05), False, True),
    ("response-direction", frame_bytes(_OPTIONS, version=0x84), False, True),
    ("garbage", b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", False, True),
    ("oversized-body", frame_bytes(_QUERY, length=0x7FFFFFFF), True, True),
    ("negative-length", frame_bytes(_QUERY, length=-5), True, True),
    ("unknown-opcode", frame_bytes(0x42, b"abc"), True, False),
    ("response-opcode", frame_bytes(_RESULT, struct.pack(">i", 1)), True, False),
    ("truncated-long-string", frame_bytes(_QUERY, struct.pack(">i", 100) + b"SELE"), True, False),
    ("empty-execute", frame_bytes(_EXECUTE), True, False),
    ("bad-value-length", frame_bytes(_QUERY, struct.pack(">i", 1) + b"x" + struct.pack(">HBH", 1, 1, 1)
                                     + struct.pack(">i", -7)), True, False),
    ("invalid-utf8", frame_bytes(_QUERY, struct.pack(">i", 2) + b"\xff\xfe" + struct.pack(">HB", 1, 0)),
     True, False),
    ("compressed-flag", frame_bytes(_OPTIONS, flags=0x01), True, False),
    ("query-before-startup", frame_bytes(_QUERY, struct.pack(">i", 1) + b"x" + struct.pack(">HB", 1, 0)),
     False, False),
]


@pytest.mark.parametrize(("data", "handshake", "closes"), [m[1:] for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_malformed_input_gets_protocol_error_and_server_stays_up(server, data, handshake, closes):
    bystander = RawClient(server.port)  # an established, unrelated connection
    bystander.handshake()
    bad = RawClient(server.port)
    try:
        if handshake:
            bad.handshake()
        bad.send(data)
        _, error = bad.read_message()
        assert isinstance(error, ProtocolException), error
        if closes:
            assert bad.at_eof()
        else:  # the frame boundary was intact: the connection keeps serving
            assert isinstance(bad.request(OptionsMessage()), SupportedMessage)
        assert_rows(bystander.query("SELECT cluster_name FROM system.local"), [("loopback",)])
        fresh = RawClient(server.port)
        fresh.handshake()
        fresh.close()
    finally:
        bad.close()
        bystander.close()


def test_version_probe_error_is_what_the_driver_downgrades_on(server):
    bad = RawClient(server.port)
    try:
        bad.send(frame_bytes(_OPTIONS, version=0x05, stream=7))
        stream, error = bad.read_message()
        assert stream == 7
        assert isinstance(error, ProtocolException)
        assert "unsupported protocol version" in error.message
    finally:
        bad.close()


def test_frames_split_at_every_byte_are_reassembled(client):
    stream, data = client.encode(QueryMessage("SELECT cluster_name FROM system.local", ConsistencyLevel.ONE))
    for i in range(len(data)):
        client.send(data[i:i + 1])
    got_stream, result = client.read_message()
    assert got_stream == stream
    assert_rows(result, [("loopback",)])


def test_pipelined_frames_get_one_response_each(client):
    frames = [client.encode(OptionsMessage()) for _ in range(50)]
    client.send(b"".join(data for _, data in frames))
    streams = [client.read_message()[0] for _ in frames]
    assert streams == [stream for stream, _ in frames]


# --- DML, paging, prepared statements --------------------------------------------------

def test_literal_insert_and_select_in_clustering_order(client):
    for c in (3, 1, 2):
        client.query(f"INSERT INTO {KS}.t (k, c, v) VALUES (1, {c}, 'v{c}')")
    assert_rows(client.query(f"SELECT c, v FROM {KS}.t WHERE k = 1"), [(1, "v1"), (2, "v2"), (3, "v3")])
    assert_rows(client.query(f"SELECT * FROM {KS}.t WHERE k = 1 AND c = 2"), [(1, 2, "v2")])
    assert_rows(client.query(f"SELECT c FROM {KS}.t WHERE k = 1 AND c >= 2"), [(2,), (3,)])
    assert_rows(client.query(f"SELECT c FROM {KS}.t WHERE k = 1 LIMIT 2"), [(1,), (2,)])
    assert_rows(client.query(f"SELECT * FROM {KS}.t WHERE k = 424242"), [])


def test_update_delete_truncate(client):
    client.query(f"CREATE TABLE {KS}.u (k int, c int, v text, w text, PRIMARY KEY (k, c))")
    client.query(f"INSERT INTO {KS}.u (k, c, v, w) VALUES (1, 1, 'a', 'b')")
    client.query(f"UPDATE {KS}.u SET v = 'z' WHERE k = 1 AND c = 1")
    client.query(f"UPDATE {KS}.u SET v = 'new' WHERE k = 1 AND c = 2")
    assert_rows(client.query(f"SELECT c, v, w FROM {KS}.u WHERE k = 1"), [(1, "z", "b"), (2, "new", None)])
    client.query(f"DELETE w FROM {KS}.u WHERE k = 1 AND c = 1")
    client.query(f"DELETE FROM {KS}.u WHERE k = 1 AND c = 2")
    assert_rows(client.query(f"SELECT c, v, w FROM {KS}.u WHERE k = 1"), [(1, "z", None)])
    client.query(f"TRUNCATE {KS}.u")
    assert_rows(client.query(f"SELECT * FROM {KS}.u"), [])


def test_descending_clustering_order(client):
    client.query(f"CREATE TABLE IF NOT EXISTS {KS}.d (k int, c int, PRIMARY KEY (k, c)) "
                 "WITH CLUSTERING ORDER BY (c DESC) AND comment = 'x'")
    for c in (2, 5, 1):
        client.query(f"INSERT INTO {KS}.d (k, c) VALUES (0, {c})")
    assert_rows(client.query(f"SELECT c FROM {KS}.d WHERE k = 0"), [(5,), (2,), (1,)])


def _page_through(client, make_message, result_metadata=None, max_pages=20):
    pages, paging_state = [], None
    while len(pages) < max_pages:  # a server ignoring the paging state would loop forever
        result = client.request(make_message(paging_state), result_metadata)
        assert isinstance(result, ResultMessage), result
        pages.append([tuple(r) for r in result.parsed_rows])
        paging_state = result.paging_state
        if paging_state is None:
            break
    return pages


def test_query_paging_honours_page_size_and_paging_state(client):
    for c in range(10):
        client.query(f"INSERT INTO {KS}.t (k, c, v) VALUES (2, ?, ?)", [int32(c), text(f"r{c}")])
    pages = _page_through(client, lambda state: QueryMessage(
        f"SELECT c, v FROM {KS}.t WHERE k = 2", ConsistencyLevel.ONE, fetch_size=4, paging_state=state))
    assert [len(p) for p in pages] == [4, 4, 2]
    assert sum(pages, []) == [(c, f"r{c}") for c in range(10)]


def test_execute_paging_and_prepared_metadata(client):
    prepared = client.request(PrepareMessage(f"SELECT c, v FROM {KS}.t WHERE k = ?"))
    assert prepared.kind == 4
    assert [(m.keyspace_name, m.table_name, m.name) for m in prepared.bind_metadata] == [(KS, "t", "k")]
    assert prepared.bind_metadata[0].type is Int32Type
    assert prepared.pk_indexes == [0]
    assert [c[2] for c in prepared.column_metadata] == ["c", "v"]
    for c in range(7):
        client.query(f"INSERT INTO {KS}.t (k, c, v) VALUES (3, {c}, 'p{c}')")
    pages = _page_through(client, lambda state: ExecuteMessage(
        prepared.query_id, [int32(3)], ConsistencyLevel.ONE, fetch_size=3, paging_state=state),
        prepared.column_metadata)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert sum(pages, []) == [(c, f"p{c}") for c in range(7)]


def test_prepared_insert_metadata_and_unknown_id(client):
    prepared = client.request(PrepareMessage(f"INSERT INTO {KS}.t (v, c, k) VALUES (?, ?, ?)"))
    assert [m.name for m in prepared.bind_metadata] == ["v", "c", "k"]
    assert prepared.pk_indexes == [2]
    assert prepared.column_metadata is None  # no result metadata for writes
    result = client.request(ExecuteMessage(prepared.query_id, [text("x"), int32(1), int32(4)], ConsistencyLevel.ONE))
    assert result.kind == 1  # VOID
    missing = client.request(ExecuteMessage(b"0123456789abcdef", [], ConsistencyLevel.ONE))
    assert missing.code == 0x2500 and missing.info == b"0123456789abcdef"


def test_bind_errors_are_invalid_requests(client):
    wrong_count = client.query(f"INSERT INTO {KS}.t (k, c, v) VALUES (?, ?, ?)", [int32(1)])
    assert isinstance(wrong_count, InvalidRequestException)
    wrong_size = client.query(f"INSERT INTO {KS}.t (k, c, v) VALUES (?, ?, ?)", [b"\x01", int32(1), text("x")])
    assert isinstance(wrong_size, InvalidRequestException)
    null_key = client.query(f"INSERT INTO {KS}.t (k, c, v) VALUES (?, ?, ?)", [None, int32(1), text("x")])
    assert isinstance(null_key, InvalidRequestException)


def test_batch_of_simple_and_prepared_statements(client):
    prepared = client.request(PrepareMessage(f"INSERT INTO {KS}.t (k, c, v) VALUES (?, ?, ?)"))
    batch = BatchMessage(BatchType.LOGGED, [
        (False, f"INSERT INTO {KS}.t (k, c, v) VALUES (5, 1, 'simple')", []),
        (True, prepared.query_id, [int32(5), int32(2), text("prepared")]),
    ], ConsistencyLevel.ONE, timestamp=12345)
    assert client.request(batch).kind == 1
    assert_rows(client.query(f"SELECT c, v FROM {KS}.t WHERE k = 5"), [(1, "simple"), (2, "prepared")])
    select_in_batch = BatchMessage(BatchType.LOGGED, [(False, f"SELECT * FROM {KS}.t", [])], ConsistencyLevel.ONE)
    assert isinstance(client.request(select_in_batch), InvalidRequestException)


def test_ddl_answers_schema_change_or_error(client):
    change = client.query("CREATE KEYSPACE ddl_ks WITH replication = {'class': 'SimpleStrategy', "
                          "'replication_factor': 1} AND durable_writes = true")
    assert change.schema_change_event == {"target_type": "KEYSPACE", "change_type": "CREATED",
                                          "keyspace": "ddl_ks"}
    assert client.query("CREATE KEYSPACE IF NOT EXISTS ddl_ks WITH replication = {}").kind == 1  # VOID
    exists = client.query("CREATE KEYSPACE ddl_ks WITH replication = {}")
    assert exists.to_exception().__class__ is AlreadyExists
    change = client.query("CREATE TABLE ddl_ks.t1 (k int PRIMARY KEY, v blob)")
    assert change.schema_change_event["table"] == "t1"
    assert client.query("DROP TABLE ddl_ks.t1").schema_change_event["change_type"] == "DROPPED"
    assert client.query("DROP TABLE IF EXISTS ddl_ks.t1").kind == 1
    assert isinstance(client.query("SELECT * FROM ddl_ks.t1"), InvalidRequestException)
    assert client.query("DROP KEYSPACE ddl_ks").schema_change_event["change_type"] == "DROPPED"
    assert isinstance(client.query("SELECT now() FROM system.local"), SyntaxException)


# --- fault injection -----------------------------------------------------------

INJECTED = {
    "invalid": (InvalidRequestException, InvalidRequest),
    "write_timeout": (WriteTimeoutErrorMessage, WriteTimeout),
    "read_timeout": (ReadTimeoutErrorMessage, ReadTimeout),
    "unavailable": (UnavailableErrorMessage, Unavailable),
    "overloaded": (OverloadedErrorMessage, OverloadedErrorMessage),
    "server_error": (ServerError, ServerError),
}


def _raw_server_with_table(**faults) -> tuple[CQLServer, RawClient]:
    srv = CQLServer(**faults).start()
    try:
        client = RawClient(srv.port)
        client.handshake()
        # DDL and system reads are never faulted, whatever error_every says.
        assert client.query("CREATE KEYSPACE f WITH replication = {}").kind == 5
        assert client.query("CREATE TABLE f.t (k int, c int, v text, PRIMARY KEY (k, c))").kind == 5
        assert_rows(client.query("SELECT cluster_name FROM system.local"), [("loopback",)])
    except BaseException:
        srv.stop()
        raise
    return srv, client


@pytest.fixture
def fault_server():
    """Factory for (server, handshaken raw client); both closed at teardown."""
    made = []

    def make(**faults):
        pair = _raw_server_with_table(**faults)
        made.append(pair)
        return pair

    yield make
    for srv, client in made:
        client.close()
        srv.stop()


def _decode_error_exactly(frame):
    """The driver's decoding, checking that it consumes the body exactly."""
    body = io.BytesIO(frame[4])
    message = ErrorMessage.recv_body(body, 4, FEATURES)
    assert body.read() == b"", "error body has bytes the driver does not read"
    return message


@pytest.mark.parametrize("error", sorted(INJECTED))
def test_injected_errors_decode_into_the_driver_exceptions(fault_server, error):
    _, client = fault_server(error_every=1, error=error)
    message_class, exception_class = INJECTED[error]
    stream, data = client.encode(QueryMessage("INSERT INTO f.t (k, c, v) VALUES (1, 1, 'x')",
                                              ConsistencyLevel.LOCAL_QUORUM))
    client.send(data)
    frame = client.read_frame()
    assert frame[2] == stream
    message = _decode_error_exactly(frame)
    assert type(message) is message_class
    exc = message.to_exception()
    assert type(exc) is exception_class
    if error in ("write_timeout", "read_timeout", "unavailable"):
        assert exc.consistency == ConsistencyLevel.LOCAL_QUORUM
    if error == "write_timeout":
        assert exc.write_type == WriteType.SIMPLE
        assert exc.received_responses < exc.required_responses
    if error == "read_timeout":
        assert exc.received_responses < exc.required_responses and not exc.data_retrieved
    if error == "unavailable":
        assert exc.alive_replicas < exc.required_replicas


def test_injected_write_timeout_in_batch_has_batch_write_type(fault_server):
    _, client = fault_server(error_every=1, error="write_timeout")
    batch = BatchMessage(BatchType.UNLOGGED, [(False, "INSERT INTO f.t (k, c) VALUES (1, 1)", [])],
                         ConsistencyLevel.ONE)
    stream, data = client.encode(batch)
    client.send(data)
    exc = _decode_error_exactly(client.read_frame()).to_exception()
    assert type(exc) is WriteTimeout and exc.write_type == WriteType.BATCH


def test_error_every_counts_user_requests_only(fault_server):
    _, client = fault_server(error_every=3, error="overloaded")
    outcomes = []
    for i in range(9):
        client.query("SELECT cluster_name FROM system.local")  # never counted
        result = client.query(f"INSERT INTO f.t (k, c) VALUES ({i}, 0)")
        outcomes.append("error" if isinstance(result, OverloadedErrorMessage) else result.kind)
    assert outcomes == [1, 1, "error"] * 3


def test_drop_every_leaves_requests_unanswered(fault_server):
    _, client = fault_server(drop_every=2)
    inserts = [client.encode(QueryMessage(f"INSERT INTO f.t (k, c) VALUES ({i}, 0)", ConsistencyLevel.ONE))
               for i in range(4)]
    marker_stream, marker = client.encode(QueryMessage("SELECT cluster_name FROM system.local",
                                                       ConsistencyLevel.ONE))
    client.send(b"".join(data for _, data in inserts) + marker)
    answered = []
    while not answered or answered[-1] != marker_stream:  # responses keep request order
        answered.append(client.read_message()[0])
    assert answered == [inserts[0][0], inserts[2][0], marker_stream]


def test_close_after_answers_k_requests_then_closes(fault_server):
    _, client = fault_server(close_after=2)
    inserts = [client.encode(QueryMessage(f"INSERT INTO f.t (k, c) VALUES ({i}, 0)", ConsistencyLevel.ONE))
               for i in range(3)]
    client.send(b"".join(data for _, data in inserts))
    assert [client.read_message()[0] for _ in range(2)] == [inserts[0][0], inserts[1][0]]
    assert client.at_eof()


def test_delay_holds_back_user_requests_only(fault_server):
    _, client = fault_server(delay=0.3)
    insert_stream, insert = client.encode(QueryMessage("INSERT INTO f.t (k, c) VALUES (1, 1)", ConsistencyLevel.ONE))
    system_stream, system = client.encode(QueryMessage("SELECT cluster_name FROM system.local", ConsistencyLevel.ONE))
    started = time.monotonic()
    client.send(insert + system)
    assert client.read_message()[0] == system_stream
    assert time.monotonic() - started < 0.25
    assert client.read_message()[0] == insert_stream
    assert time.monotonic() - started >= 0.3


def test_configure_changes_faults_at_runtime(fault_server):
    srv, client = fault_server()
    assert client.query("INSERT INTO f.t (k, c) VALUES (1, 1)").kind == 1
    srv.configure(error_every=1, error="server_error")
    assert isinstance(client.query("INSERT INTO f.t (k, c) VALUES (1, 1)"), ServerError)
    srv.configure(error="unavailable")
    assert isinstance(client.query("INSERT INTO f.t (k, c) VALUES (1, 1)"), UnavailableErrorMessage)
    srv.configure(error_every=0)
    assert client.query("INSERT INTO f.t (k, c) VALUES (1, 1)").kind == 1
    with pytest.raises(TypeError):
        srv.configure(bogus=1)
    with pytest.raises(ValueError):
        srv.configure(error="no-such-error")
    with pytest.raises(ValueError):
        srv.configure(drop_every=-1)
    assert client.query("INSERT INTO f.t (k, c) VALUES (1, 1)").kind == 1  # failed calls changed nothing


def test_invalid_constructor_arguments():
    with pytest.raises(ValueError):
        CQLServer(error="nope")
    with pytest.raises(ValueError):
        CQLServer(delay=-1)
    with pytest.raises(ValueError):
        CQLServer(shards=-2)


# --- in-process and process modes ----------------------------------------------

def test_process_mode_is_refused_on_windows(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    with pytest.raises(NotImplementedError, match="Windows"):
        CQLServer(process=True)


def test_in_process_mode_counts_requests_and_thread_cpu():
    with CQLServer() as srv:
        assert srv.requests() == 0
        client = RawClient(srv.port)
        try:
            client.handshake()
            before = srv.cpu_time()
            for _ in range(200):
                client.query("SELECT cluster_name FROM system.local")
            assert srv.requests() == 202
            assert srv.cpu_time() > before
        finally:
            client.close()
    final = srv.requests()
    assert final == 202 and srv.cpu_time() > 0  # still readable after stop
    with pytest.raises(OSError):
        RawClient(srv.port)


needs_process_mode = pytest.mark.skipif(
    sys.platform == "win32", reason="CQLServer(process=True) is not supported on Windows (select() on pipes)")


@needs_process_mode
def test_process_mode_serves_the_driver(loopback_server_factory, loopback_connect):
    srv = loopback_server_factory(process=True)
    child = srv._runner._proc  # white-box: the child process handle
    assert child.poll() is None
    session = loopback_connect(srv)
    session.execute("CREATE KEYSPACE p WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
    session.execute("CREATE TABLE p.t (k int PRIMARY KEY, v text)")
    insert = session.prepare("INSERT INTO p.t (k, v) VALUES (?, ?)")
    cpu_before, requests_before = srv.cpu_time(), srv.requests()
    for k in range(100):
        session.execute(insert, (k, str(k)))
    assert srv.requests() >= requests_before + 100
    assert srv.cpu_time() > cpu_before
    assert session.execute("SELECT v FROM p.t WHERE k = 42").one().v == "42"
    srv.configure(error_every=1, error="invalid")
    with pytest.raises(InvalidRequest):
        session.execute(insert, (1, "x"))
    srv.configure(error_every=0)
    session.execute(insert, (1, "x"))
    srv.stop()
    assert child.poll() is not None  # stop() ended the child
    assert srv.requests() > requests_before + 100


@needs_process_mode
def test_process_mode_reports_start_failure():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        srv = CQLServer(port=taken.getsockname()[1], process=True)
        with pytest.raises(RuntimeError, match="process"):
            srv.start()
        srv.stop()


# --- ScyllaDB look-alike ----------------------------------------------------------

def test_shard_aware_port_maps_source_port_to_shard():
    with CQLServer(shards=3) as srv:
        assert srv.shard_aware_port and srv.shard_aware_port != srv.port
        for _ in range(3):
            probe = socket.socket()
            probe.bind(("127.0.0.1", 0))
            source_port = probe.getsockname()[1]
            probe.close()
            client = RawClient(srv.shard_aware_port, source_port=source_port)
            try:
                options = client.request(OptionsMessage()).options
            finally:
                client.close()
            assert options["SCYLLA_SHARD"] == [str(source_port % 3)]
            assert options["SCYLLA_NR_SHARDS"] == ["3"]
            assert options["SCYLLA_SHARD_AWARE_PORT"] == [str(srv.shard_aware_port)]
            assert options["SCYLLA_SHARDING_ALGORITHM"] == ["biased-token-round-robin"]
            assert options["SCYLLA_PARTITIONER"] == ["org.apache.cassandra.dht.Murmur3Partitioner"]


def test_regular_port_assigns_least_loaded_shard():
    with CQLServer(shards=4) as srv:
        clients = [RawClient(srv.port) for _ in range(4)]
        try:
            shards = {c.request(OptionsMessage()).options["SCYLLA_SHARD"][0] for c in clients}
        finally:
            for c in clients:
                c.close()
        assert shards == {"0", "1", "2", "3"}


def test_driver_opens_one_connection_per_shard(loopback_server_factory, loopback_connect):
    srv = loopback_server_factory(shards=4)
    session = loopback_connect(srv)
    (host,) = session.cluster.metadata.all_hosts()
    assert host.sharding_info is not None and host.sharding_info.shards_count == 4
    deadline = time.monotonic() + 10
    # The driver opens the other shards' connections in the background.
    while session.get_pool_state()[host]["open_count"] < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert session.get_pool_state()[host]["open_count"] == 4
    pool = session._pools[host]  # white-box: which shard each connection landed on
    assert sorted(pool._connections) == [0, 1, 2, 3]
    assert all(conn.features.shard_id == shard for shard, conn in pool._connections.items())
    session.execute("CREATE KEYSPACE s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
    session.execute("CREATE TABLE s.t (k int PRIMARY KEY, v int)")
    insert = session.prepare("INSERT INTO s.t (k, v) VALUES (?, ?)")
    for k in range(50):
        session.execute(insert, (k, k))
    assert session.execute("SELECT COUNT(*) FROM s.t").one()[0] == 50


# --- the real driver: handshake, DDL latency, types, re-prepare -------------------------

def test_driver_negotiates_down_from_v5(loopback_server, loopback_connect):
    session = loopback_connect(loopback_server, protocol_version=None)
    assert session.cluster.protocol_version == 4


def test_driver_ddl_does_not_wait_for_schema_agreement(loopback_session):
    for statement in ("CREATE TABLE loopback.fast (k int PRIMARY KEY)", "DROP TABLE loopback.fast",
                      "CREATE KEYSPACE fastks WITH replication = {'class': 'SimpleStrategy', "
                      "'replication_factor': 1}", "DROP KEYSPACE fastks"):
        started = time.perf_counter()
        result = loopback_session.execute(statement)
        assert time.perf_counter() - started < 0.5, statement
        assert result.response_future.is_schema_agreed


TYPES_DDL = ("CREATE TABLE IF NOT EXISTS loopback.types (k int, c text, a ascii, b bigint, bl blob, "
             "bo boolean, d double, f float, ts timestamp, u uuid, tu timeuuid, vc varchar, vi varint, "
             "ip inet, si smallint, ti tinyint, PRIMARY KEY (k, c))")


def test_driver_round_trips_every_supported_type(loopback_session):
    loopback_session.execute(TYPES_DDL)
    columns = "k, c, a, b, bl, bo, d, f, ts, u, tu, vc, vi, ip, si, ti"
    values = (1, "ü", "ascii", -2**40, b"\x00\xff", True, 2.5, 1.5, datetime(2024, 1, 2, 3, 4, 5),
              uuid.UUID("12345678-1234-5678-1234-567812345678"), uuid.uuid1(), "varchar", 10**30,
              "10.1.2.3", -300, 7)
    insert = loopback_session.prepare(f"INSERT INTO loopback.types ({columns}) VALUES "
                                      f"({', '.join('?' * len(values))})")
    loopback_session.execute(insert, values)
    assert tuple(loopback_session.execute(f"SELECT {columns} FROM loopback.types WHERE k = 1").one()) == values
    literal = ("2, 'x', 'ascii', -1099511627776, 0x00ff, true, 2.5, 1.5, '2024-01-02T03:04:05Z', "
               "12345678-1234-5678-1234-567812345678, " + str(values[10]) + ", 'varchar', "
               "1000000000000000000000000000000, '10.1.2.3', -300, 7")
    loopback_session.execute(f"INSERT INTO loopback.types ({columns}) VALUES ({literal})")
    row = loopback_session.execute(f"SELECT {columns} FROM loopback.types WHERE k = 2").one()
    assert tuple(row)[2:] == values[2:]


def test_driver_large_values_arrive_in_many_reads(loopback_session):
    loopback_session.execute("CREATE TABLE IF NOT EXISTS loopback.big (k int PRIMARY KEY, b blob)")
    payload = bytes(range(256)) * (3 * 4096)  # 3 MiB: many TCP reads on both sides
    loopback_session.execute("INSERT INTO loopback.big (k, b) VALUES (%s, %s)", (1, payload))
    assert loopback_session.execute("SELECT b FROM loopback.big WHERE k = 1").one().b == payload


def test_driver_batch_statement(loopback_session):
    loopback_session.execute("CREATE TABLE IF NOT EXISTS loopback.batch (k int, c int, v text, PRIMARY KEY (k, c))")
    insert = loopback_session.prepare("INSERT INTO loopback.batch (k, c, v) VALUES (?, ?, ?)")
    batch = BatchStatement()
    for c in range(5):
        batch.add(insert, (1, c, f"b{c}"))
    batch.add(SimpleStatement("INSERT INTO loopback.batch (k, c, v) VALUES (%s, %s, %s)"), (1, 5, "simple"))
    loopback_session.execute(batch)
    rows = loopback_session.execute("SELECT c, v FROM loopback.batch WHERE k = 1")
    assert [tuple(r) for r in rows] == [(c, f"b{c}") for c in range(5)] + [(5, "simple")]


def test_driver_reprepares_after_table_is_recreated(loopback_session):
    loopback_session.execute("CREATE TABLE IF NOT EXISTS loopback.again (k int PRIMARY KEY, v text)")
    insert = loopback_session.prepare("INSERT INTO loopback.again (k, v) VALUES (?, ?)")
    loopback_session.execute(insert, (1, "before"))
    loopback_session.execute("DROP TABLE loopback.again")
    loopback_session.execute("CREATE TABLE loopback.again (k int PRIMARY KEY, v text)")
    loopback_session.execute(insert, (2, "after"))  # the server answers Unprepared; the driver re-prepares
    assert [tuple(r) for r in loopback_session.execute("SELECT * FROM loopback.again")] == [(2, "after")]


def test_driver_sees_server_errors(loopback_session):
    with pytest.raises(InvalidRequest, match="unconfigured table"):
        loopback_session.execute("SELECT * FROM loopback.no_such_table")
    with pytest.raises(AlreadyExists):
        loopback_session.execute("CREATE KEYSPACE loopback WITH replication = {}")
    with pytest.raises(SyntaxException):
        loopback_session.execute("SELECT k FROM loopback.types WHERE k IN (1, 2)")
