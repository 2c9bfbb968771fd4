"""The server's statement engine: schema, prepared statements, caches.

`Engine.compile()` resolves a statement against the schema once; the result
is cached per (keyspace, query string) and, for PREPARE, by statement id, so
a hot EXECUTE only binds values and touches the table.  DDL clears the query
cache and forgets prepared statements whose table is gone; the driver then
gets "Unprepared" and re-prepares, as with a real server.
"""
from __future__ import annotations

import hashlib

from cql_loopback import cql_parser as ast
from cql_loopback import wire
from cql_loopback.compiled import Compiled
from cql_loopback.ddl import SchemaStatement, Use
from cql_loopback.dml import SystemSelect, compile_table_statement
from cql_loopback.errors import invalid, unprepared
from cql_loopback.storage import Schema
from cql_loopback.system_tables import SYSTEM_KEYSPACES, build_system_tables

_QUERY_CACHE_LIMIT = 4096  # entries; the cache is simply emptied when full
_CACHED_QUERY_MAX_LENGTH = 4096  # longer queries (big literals) are not worth keeping


class Engine:
    """Server-wide state: schema, prepared statements, compiled-query cache."""

    def __init__(self, rpc_address: str, scylla: bool) -> None:
        self.schema = Schema()
        self.system_tables = build_system_tables(rpc_address, scylla)
        self._compiled: dict[tuple[str | None, str], Compiled] = {}
        self._prepared: dict[bytes, Compiled] = {}

    def compile(self, query: str, keyspace: str | None) -> Compiled:
        key = (keyspace, query)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compile(ast.parse(query), keyspace)
            if len(query) <= _CACHED_QUERY_MAX_LENGTH:
                if len(self._compiled) >= _QUERY_CACHE_LIMIT:
                    self._compiled.clear()
                self._compiled[key] = compiled
        return compiled

    def prepare(self, query: str, keyspace: str | None) -> bytes:
        """The PREPARED result body; the statement is kept until DDL drops its table."""
        compiled = self.compile(query, keyspace)
        statement_id = hashlib.md5(f"{keyspace or ''}\0{query}".encode()).digest()
        self._prepared[statement_id] = compiled
        return (wire.int_(wire.KIND_PREPARED) + wire.short_bytes(statement_id)
                + compiled.bind_metadata + compiled.result_metadata)

    def prepared(self, statement_id: bytes) -> Compiled:
        compiled = self._prepared.get(statement_id)
        if compiled is None:
            raise unprepared(statement_id)
        return compiled

    def schema_changed(self) -> None:
        self._compiled.clear()
        schema = self.schema
        self._prepared = {
            sid: c for sid, c in self._prepared.items()
            if c.table is None or schema.table(c.table.keyspace, c.table.name) is c.table
        }

    def _compile(self, stmt: ast.Statement, session_keyspace: str | None) -> Compiled:
        if isinstance(stmt, ast.Use):
            return Use(self, stmt.keyspace)
        if isinstance(stmt, (ast.CreateKeyspace, ast.DropKeyspace)):
            return SchemaStatement(self, stmt)
        if not isinstance(stmt, ast.OnTable):
            raise TypeError(f"unexpected statement {stmt!r}")
        keyspace = stmt.keyspace or session_keyspace
        if keyspace is None:
            raise invalid("No keyspace has been specified. USE a keyspace, or explicitly "
                          "specify keyspace.tablename")
        if isinstance(stmt, (ast.CreateTable, ast.DropTable, ast.Truncate)):
            if keyspace in SYSTEM_KEYSPACES:
                raise invalid(f"System keyspace {keyspace} is not user-modifiable")
            return SchemaStatement(self, stmt, keyspace)
        if keyspace in SYSTEM_KEYSPACES:
            system_table = self.system_tables.get((keyspace, stmt.name))
            if system_table is None or not isinstance(stmt, ast.Select):
                raise invalid(f"unconfigured table {stmt.name}")
            return SystemSelect(system_table, stmt)
        if keyspace not in self.schema.keyspaces:
            raise invalid(f"Keyspace {keyspace} does not exist")
        table = self.schema.table(keyspace, stmt.name)
        if table is None:
            raise invalid(f"unconfigured table {stmt.name}")
        return compile_table_statement(table, stmt)
