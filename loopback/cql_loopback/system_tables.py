"""The system tables the driver reads while connecting and after DDL.

A single node: `system.local` has one row, `system.peers` is empty, and
`schema_version` never changes, so the driver's schema-agreement wait after
a DDL statement succeeds on its first round trip.  `system_schema.*` tables
are empty (the driver then simply knows no user keyspaces: routing still
works from the PREPARED result's partition-key indexes), and any other
system table (`system.peers_v2`, `system_virtual_schema.*`, ...) is
"unconfigured": the InvalidRequest the driver expects from servers without
it, which makes it fall back to `system.peers`.
"""
from __future__ import annotations

import uuid

from cql_loopback.cqltypes import parse_type, value_cell

SYSTEM_KEYSPACES = frozenset((
    "system", "system_schema", "system_auth", "system_traces", "system_distributed",
    "system_virtual_schema", "system_views",
))

# A fixed schema version: the schema never "disagrees" with itself.
SCHEMA_VERSION = uuid.UUID("7e5c0a2e-0b1d-4c8a-9d7e-5f3b2a1c0d9e")
PARTITIONER = "org.apache.cassandra.dht.Murmur3Partitioner"
CQL_VERSION = "3.4.5"

_LOCAL_COLUMNS = [  # Cassandra order for SELECT *: key first, then alphabetical
    ("key", "text"), ("bootstrapped", "text"), ("broadcast_address", "inet"),
    ("cluster_name", "text"), ("cql_version", "text"), ("data_center", "text"),
    ("host_id", "uuid"), ("listen_address", "inet"), ("native_protocol_version", "text"),
    ("partitioner", "text"), ("rack", "text"), ("release_version", "text"),
    ("rpc_address", "inet"), ("schema_version", "uuid"), ("tokens", "set<text>"),
]
_PEERS_COLUMNS = [
    ("peer", "inet"), ("data_center", "text"), ("host_id", "uuid"), ("preferred_ip", "inet"),
    ("rack", "text"), ("release_version", "text"), ("rpc_address", "inet"),
    ("schema_version", "uuid"), ("tokens", "set<text>"),
]
_SCHEMA_TABLE_COLUMNS = {
    "keyspaces": [("keyspace_name", "text"), ("durable_writes", "boolean"),
                  ("replication", "map<text, text>")],
    "tables": [("keyspace_name", "text"), ("table_name", "text"), ("comment", "text"),
               ("flags", "set<text>"), ("id", "uuid")],
    "columns": [("keyspace_name", "text"), ("table_name", "text"), ("column_name", "text"),
                ("clustering_order", "text"), ("column_name_bytes", "blob"), ("kind", "text"),
                ("position", "int"), ("type", "text")],
    "indexes": [("keyspace_name", "text"), ("table_name", "text"), ("index_name", "text"),
                ("kind", "text"), ("options", "map<text, text>")],
    "triggers": [("keyspace_name", "text"), ("table_name", "text"), ("trigger_name", "text"),
                 ("options", "map<text, text>")],
    "types": [("keyspace_name", "text"), ("type_name", "text"), ("field_names", "list<text>"),
              ("field_types", "list<text>")],
    "functions": [("keyspace_name", "text"), ("function_name", "text"),
                  ("argument_types", "list<text>"), ("argument_names", "list<text>"),
                  ("body", "text"), ("called_on_null_input", "boolean"), ("language", "text"),
                  ("return_type", "text")],
    "aggregates": [("keyspace_name", "text"), ("aggregate_name", "text"),
                   ("argument_types", "list<text>"), ("final_func", "text"),
                   ("initcond", "text"), ("return_type", "text"), ("state_func", "text"),
                   ("state_type", "text")],
    "views": [("keyspace_name", "text"), ("view_name", "text"), ("base_table_id", "uuid"),
              ("base_table_name", "text"), ("include_all_columns", "boolean"),
              ("where_clause", "text")],
}


class SystemTable:
    """Column definitions plus constant rows (lists of wire cells)."""

    def __init__(self, keyspace: str, name: str, columns: list[tuple[str, str]]) -> None:
        self.keyspace = keyspace
        self.name = name
        self.columns = [(c, parse_type(t)) for c, t in columns]
        self.rows: list[list[bytes]] = []


def build_system_tables(rpc_address: str, scylla: bool) -> dict[tuple[str, str], SystemTable]:
    """Every answerable system table, keyed by (keyspace, table)."""
    local_values = {
        "key": "local",
        "bootstrapped": "COMPLETED",
        "broadcast_address": rpc_address,
        "cluster_name": "loopback",
        "cql_version": CQL_VERSION,
        "data_center": "datacenter1",
        "host_id": uuid.uuid4(),
        "listen_address": rpc_address,
        "native_protocol_version": "4",
        "partitioner": PARTITIONER,
        "rack": "rack1",
        # Both spellings select the driver's "3.x" schema parser, which reads
        # only system_schema tables this module answers.
        "release_version": "3.0.8" if scylla else "3.11.16",
        "rpc_address": rpc_address,
        "schema_version": SCHEMA_VERSION,
        "tokens": ["0"],
    }
    local = SystemTable("system", "local", _LOCAL_COLUMNS)
    local.rows = [[value_cell(t, local_values[c]) for c, t in local.columns]]
    tables = {("system", "local"): local, ("system", "peers"): SystemTable("system", "peers", _PEERS_COLUMNS)}
    for name, columns in _SCHEMA_TABLE_COLUMNS.items():
        tables[("system_schema", name)] = SystemTable("system_schema", name, columns)
    return tables
