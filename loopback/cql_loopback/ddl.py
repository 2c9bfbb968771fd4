"""USE and schema statements (CREATE/DROP KEYSPACE and TABLE, TRUNCATE).

Their checks run at execution time, not compile time: the cached compiled
form may outlive the schema it was compiled against.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from cql_loopback import cql_parser as ast
from cql_loopback import wire
from cql_loopback.compiled import VOID_BODY, Compiled, SessionState
from cql_loopback.cqltypes import LiteralError, parse_type
from cql_loopback.errors import already_exists, config_error, invalid
from cql_loopback.storage import Schema, Table
from cql_loopback.system_tables import SYSTEM_KEYSPACES

if TYPE_CHECKING:
    from cql_loopback.engine import Engine


def _schema_change(change: str, target: str, keyspace: str, name: str = "") -> bytes:
    body = wire.int_(wire.KIND_SCHEMA_CHANGE) + wire.string(change) + wire.string(target)
    body += wire.string(keyspace)
    return body + (wire.string(name) if target != "KEYSPACE" else b"")


class Use(Compiled):
    def __init__(self, engine: Engine, keyspace: str) -> None:
        self.engine = engine
        self.keyspace = keyspace
        self.body = wire.int_(wire.KIND_SET_KEYSPACE) + wire.string(keyspace)

    def run(self, session: SessionState, params: wire.QueryParameters) -> bytes:
        if self.keyspace not in self.engine.schema.keyspaces and self.keyspace not in SYSTEM_KEYSPACES:
            raise invalid(f"Keyspace '{self.keyspace}' does not exist")
        session.keyspace = self.keyspace
        return self.body


class SchemaStatement(Compiled):
    """CREATE/DROP KEYSPACE, CREATE/DROP TABLE, TRUNCATE."""

    def __init__(self, engine: Engine, stmt: ast.Statement, keyspace: str = "") -> None:
        self.engine = engine
        self.stmt = stmt
        self.keyspace = keyspace  # of a table statement; "" for keyspace ones

    def run(self, session: SessionState, params: wire.QueryParameters) -> bytes:
        schema, stmt = self.engine.schema, self.stmt
        if isinstance(stmt, ast.CreateKeyspace):
            return self._CreateKeyspace(schema, stmt)
        if isinstance(stmt, ast.DropKeyspace):
            return self._DropKeyspace(schema, stmt)
        if isinstance(stmt, ast.CreateTable):
            return self._CreateTable(schema, stmt)
        if isinstance(stmt, ast.DropTable):
            return self._DropTable(schema, stmt)
        if isinstance(stmt, ast.Truncate):
            return self._Truncate(schema, stmt)
        raise TypeError(f"not a schema statement: {stmt!r}")

    def _changed(self, body: bytes) -> bytes:
        self.engine.schema_changed()
        return body

    def _CreateKeyspace(self, schema: Schema, stmt: ast.CreateKeyspace) -> bytes:
        if stmt.name in schema.keyspaces or stmt.name in SYSTEM_KEYSPACES:
            if stmt.if_not_exists:
                return VOID_BODY
            raise already_exists(stmt.name)
        schema.keyspaces[stmt.name] = {}
        return self._changed(_schema_change("CREATED", "KEYSPACE", stmt.name))

    def _DropKeyspace(self, schema: Schema, stmt: ast.DropKeyspace) -> bytes:
        if stmt.name in SYSTEM_KEYSPACES:
            raise invalid(f"Cannot drop system keyspace {stmt.name}")
        if stmt.name not in schema.keyspaces:
            if stmt.if_exists:
                return VOID_BODY
            raise config_error(f"Cannot drop non existing keyspace '{stmt.name}'.")
        del schema.keyspaces[stmt.name]
        return self._changed(_schema_change("DROPPED", "KEYSPACE", stmt.name))

    def _tables(self, schema: Schema) -> dict[str, Table]:
        tables = schema.keyspaces.get(self.keyspace)
        if tables is None:
            raise invalid(f"Keyspace '{self.keyspace}' does not exist")
        return tables

    def _CreateTable(self, schema: Schema, stmt: ast.CreateTable) -> bytes:
        tables = self._tables(schema)
        if stmt.name in tables:
            if stmt.if_not_exists:
                return VOID_BODY
            raise already_exists(self.keyspace, stmt.name)
        tables[stmt.name] = _new_table(self.keyspace, stmt)
        return self._changed(_schema_change("CREATED", "TABLE", self.keyspace, stmt.name))

    def _DropTable(self, schema: Schema, stmt: ast.DropTable) -> bytes:
        tables = schema.keyspaces.get(self.keyspace, {})
        if stmt.name not in tables:
            if stmt.if_exists:
                return VOID_BODY
            raise config_error(f"Cannot drop non existing table '{stmt.name}' in keyspace '{self.keyspace}'.")
        del tables[stmt.name]
        return self._changed(_schema_change("DROPPED", "TABLE", self.keyspace, stmt.name))

    def _Truncate(self, schema: Schema, stmt: ast.Truncate) -> bytes:
        table = self._tables(schema).get(stmt.name)
        if table is None:
            raise invalid(f"unconfigured table {stmt.name}")
        table.truncate()
        return VOID_BODY


def _new_table(keyspace: str, stmt: ast.CreateTable) -> Table:
    names = [name for name, _ in stmt.columns]
    if len(set(names)) != len(names):
        raise invalid("Multiple definition of a column")
    if not stmt.partition_key:
        raise invalid("No PRIMARY KEY specified (exactly one required)")
    for key in stmt.partition_key + stmt.clustering + sorted(stmt.descending):
        if key not in names:
            raise invalid(f"Unknown definition {key} referenced in PRIMARY KEY")
    columns = []
    for name, spelling in stmt.columns:
        try:
            type_ = parse_type(spelling)
        except LiteralError as exc:
            raise invalid(str(exc)) from None
        if not type_.user_table_ok:
            raise invalid(f"Type {spelling} is not supported by the loopback server")
        columns.append((name, type_))
    return Table(keyspace, stmt.name, columns, stmt.partition_key, stmt.clustering, stmt.descending)
