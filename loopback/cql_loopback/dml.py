"""Reads and writes of user tables (and reads of system tables), compiled.

Each term of a statement is resolved once, at compile time, to a source:
the index of its bind marker or the wire cell of its literal; executing is
then binding values to sources and touching the table.
"""
from __future__ import annotations

import itertools
import struct
from typing import Any, Callable, Union

from cql_loopback import cql_parser as ast
from cql_loopback import wire
from cql_loopback.compiled import VOID_BODY, Compiled, SessionState
from cql_loopback.cqltypes import SCALARS, CqlType, LiteralError
from cql_loopback.errors import invalid
from cql_loopback.storage import Column, Key, Row, Table
from cql_loopback.system_tables import SystemTable

_ROWS_KIND = wire.int_(wire.KIND_ROWS)
_OFFSET = struct.Struct(">Q")  # the paging state: the offset of the next row
_INT_TYPE = SCALARS["int"]
_MARKER_PSEUDO_COLUMNS = {"limit": ("[limit]", _INT_TYPE), "ttl": ("[ttl]", _INT_TYPE),
                          "timestamp": ("[timestamp]", SCALARS["bigint"])}

# Where a term's value comes from: a bind-marker index, or a literal's cell.
Source = Union[int, bytes]
KeySources = list[tuple[Source, Union[int, None]]]  # (source, fixed size)


def compile_table_statement(table: Table, stmt: ast.OnTable) -> Compiled:
    """SELECT, INSERT, UPDATE or DELETE on an existing user table."""
    binder = _Binder(stmt, table.keyspace, table.name, _table_column(table))
    if isinstance(stmt, ast.Select):
        return Select(table, stmt, binder)
    if isinstance(stmt, ast.Insert):
        return _insert(table, stmt, binder)
    if isinstance(stmt, ast.Update):
        return _update(table, stmt, binder)
    if isinstance(stmt, ast.Delete):
        return _delete(table, stmt, binder)
    raise TypeError(f"unexpected statement {stmt!r}")


def _is_null_or_unset(cell: bytes) -> bool:
    return bool(cell[0] & 0x80)  # a negative [value] length


class _Binder:
    """Resolves each term of a statement to a source: a marker index (int)
    or a constant literal cell (bytes), and builds the bind metadata."""

    def __init__(self, stmt: ast.Statement, keyspace: str, table_name: str,
                 column_type: Callable[[str], CqlType]) -> None:
        self.stmt = stmt
        self.column_type = column_type  # name -> CqlType, raises for unknown columns
        self.keyspace = keyspace
        self.table_name = table_name

    def source(self, term: ast.Term, type_: CqlType) -> Source:
        if term.kind == "marker":
            return term.index
        try:
            return type_.literal(term.kind, term.text)
        except LiteralError as exc:
            raise invalid(str(exc)) from None

    def bind_metadata(self, pk_indexes: list[int]) -> bytes:
        specs = []
        for target, name in self.stmt.markers:
            if target == "column" and name is not None:
                specs.append(wire.string(name) + self.column_type(name).option)
            else:
                label, type_ = _MARKER_PSEUDO_COLUMNS[target]
                specs.append(wire.string(label) + type_.option)
        head = wire.rows_header(wire.META_GLOBAL_TABLES_SPEC, len(specs)) + wire.int_(len(pk_indexes))
        head += b"".join(wire.short(i) for i in pk_indexes)
        return head + wire.string(self.keyspace) + wire.string(self.table_name) + b"".join(specs)


def _resolve(source: Source, values: list[bytes]) -> bytes:
    return values[source] if isinstance(source, int) else source


def _table_column(table: Table) -> Callable[[str], CqlType]:
    def column_type(name: str) -> CqlType:
        column = table.by_name.get(name)
        if column is None:
            raise invalid(f"Undefined column name {name}")
        return column.type
    return column_type


def _key_relations(table: Table, relations: list[ast.Relation], binder: _Binder,
                   full_clustering: bool) -> tuple[KeySources, KeySources]:
    """Split WHERE relations of a write into partition-key and clustering
    sources; writes address rows by equality on the primary key only."""
    by_column: dict[Column, Source] = {}
    for rel in relations:
        column = table.by_name.get(rel.column)
        if column is None:
            raise invalid(f"Undefined column name {rel.column}")
        if rel.op != "=" or column in by_column or column not in table.partition_key + table.clustering:
            raise invalid(f"Only equality on primary key columns is supported here, not {rel.column} {rel.op}")
        by_column[column] = binder.source(rel.term, column.type)
    missing = [c.name for c in table.partition_key if c not in by_column]
    if missing:
        raise invalid(f"Some partition key parts are missing: {', '.join(missing)}")
    clustering: KeySources = []
    for column in table.clustering:
        if column not in by_column:
            break
        clustering.append((by_column.pop(column), column.type.size))
    if full_clustering and len(clustering) != len(table.clustering):
        raise invalid("Some clustering keys are missing: "
                      + ", ".join(c.name for c in table.clustering[len(clustering):]))
    extra = [c.name for c in by_column if c not in table.partition_key]
    if extra:
        raise invalid(f"Clustering columns restricted out of order: {', '.join(extra)}")
    partition: KeySources = [(by_column[c], c.type.size) for c in table.partition_key]
    return partition, clustering


def _pk_indexes(table: Table, stmt: ast.Statement) -> list[int]:
    """Marker indexes of the partition-key columns, in key order, or [] when
    the key is not fully bound (the driver then computes no routing key)."""
    bound: dict[str, int] = {}
    for index, (target, name) in enumerate(stmt.markers):
        if target == "column" and name is not None:
            bound.setdefault(name, index)
    if all(c.name in bound for c in table.partition_key):
        return [bound[c.name] for c in table.partition_key]
    return []


def _bind_keys(sources: KeySources, values: list[bytes], what: str) -> Key:
    cells = []
    for source, size in sources:
        cell = values[source] if isinstance(source, int) else source
        if _is_null_or_unset(cell):
            raise invalid(f"Invalid null or unset value for {what} key column")
        if size is not None and len(cell) != 4 + size and (what == "partition" or len(cell) != 4):
            raise invalid(f"Expected {size} bytes for a {what} key value, got {len(cell) - 4}")
        cells.append(cell)
    if what == "partition" and len(cells) == 1 and len(cells[0]) == 4:
        raise invalid("Key may not be empty")
    return tuple(cells)


class _Write(Compiled):
    faultable = True
    batchable = True
    table: Table

    def run(self, session: SessionState, params: wire.QueryParameters) -> bytes:
        self.apply(params.values)
        return VOID_BODY


class Upsert(_Write):
    """INSERT and UPDATE: both write cells into the row at a primary key."""

    def __init__(self, table: Table, stmt: ast.Statement, pk_sources: KeySources, ck_sources: KeySources,
                 value_sources: list[tuple[int, Source, int | None]], binder: _Binder) -> None:
        self.table = table
        self.marker_count = len(stmt.markers)
        self.pk_sources = pk_sources
        self.ck_sources = ck_sources
        self.value_sources = value_sources  # [(column index, source, fixed size)]
        self.bind_metadata = binder.bind_metadata(_pk_indexes(table, stmt))

    def apply(self, values: list[bytes]) -> None:
        if len(values) != self.marker_count:
            self.check_values(values)
        pk = _bind_keys(self.pk_sources, values, "partition")
        ck = _bind_keys(self.ck_sources, values, "clustering")
        assignments = []
        for index, source, size in self.value_sources:
            cell = values[source] if isinstance(source, int) else source
            if cell == wire.UNSET_VALUE:
                continue  # unset: leave the stored cell alone
            if size is not None and len(cell) > 4 and len(cell) != 4 + size:
                raise invalid(f"Expected {size} bytes for column "
                              f"{self.table.columns[index].name}, got {len(cell) - 4}")
            assignments.append((index, cell))
        self.table.upsert(pk, ck, assignments)


class Delete(_Write):
    def __init__(self, table: Table, stmt: ast.Statement, pk_sources: KeySources, ck_sources: KeySources,
                 columns: list[int], binder: _Binder) -> None:
        self.table = table
        self.marker_count = len(stmt.markers)
        self.pk_sources = pk_sources
        self.ck_sources = ck_sources
        self.columns = columns
        self.bind_metadata = binder.bind_metadata(_pk_indexes(table, stmt))

    def apply(self, values: list[bytes]) -> None:
        self.check_values(values)
        pk = _bind_keys(self.pk_sources, values, "partition")
        ck = _bind_keys(self.ck_sources, values, "clustering")
        self.table.delete(pk, ck, self.columns)


class Select(Compiled):
    faultable = True
    table: Table

    def __init__(self, table: Table, stmt: ast.Select, binder: _Binder) -> None:
        self.table = table
        self.marker_count = len(stmt.markers)
        self.count = stmt.count
        self.projection: list[int] | None = None  # None: every column, in table order
        if stmt.count:
            out_columns = [((stmt.columns or ["count"])[0], SCALARS["bigint"])]
        elif stmt.columns is None:
            out_columns = [(c.name, c.type) for c in table.columns]
        else:
            picked = []
            for name in stmt.columns:
                column = table.by_name.get(name)
                if column is None:
                    raise invalid(f"Undefined column name {name}")
                picked.append(column)
            self.projection = [c.index for c in picked]
            out_columns = [(c.name, c.type) for c in picked]
        self.column_count = len(out_columns)
        self.specs = (wire.string(table.keyspace) + wire.string(table.name)
                      + b"".join(wire.string(n) + t.option for n, t in out_columns))
        self.result_metadata = wire.rows_header(wire.META_GLOBAL_TABLES_SPEC, self.column_count) + self.specs
        self._split_where(stmt.where, binder)
        self.limit = None if stmt.limit is None else binder.source(stmt.limit, _INT_TYPE)
        self.bind_metadata = binder.bind_metadata(_pk_indexes(table, stmt))

    def _split_where(self, relations: list[ast.Relation], binder: _Binder) -> None:
        pk_sources: dict[Column, tuple[Source, int | None]] = {}
        self.filters: list[tuple[int, str, Source, CqlType]] = []  # (column index, op, source, type)
        for rel in relations:
            column = self.table.by_name.get(rel.column)
            if column is None:
                raise invalid(f"Undefined column name {rel.column}")
            source = binder.source(rel.term, column.type)
            if rel.op == "=" and column in self.table.partition_key and column not in pk_sources:
                pk_sources[column] = (source, column.type.size)
            else:
                self.filters.append((column.index, rel.op, source, column.type))
        self.pk_sources: KeySources | None = None
        if len(pk_sources) == len(self.table.partition_key):
            self.pk_sources = [pk_sources[c] for c in self.table.partition_key]
        else:  # a scan: every key relation becomes a filter
            for column, (source, _) in pk_sources.items():
                self.filters.append((column.index, "=", source, column.type))

    def _rows(self, values: list[bytes]) -> list[Row]:
        table = self.table
        if self.pk_sources is not None:
            partition = table.partitions.get(_bind_keys(self.pk_sources, values, "partition"))
            rows = [] if partition is None else partition.ordered(table)
        else:
            rows = [row for p in table.partitions.values() for row in p.ordered(table)]
        for index, op, source, type_ in self.filters:
            cell = _resolve(source, values)
            if _is_null_or_unset(cell):
                raise invalid("Invalid null or unset value in a WHERE relation")
            if op == "=":
                rows = [row for row in rows if row[index] == cell]
            else:
                bound = type_.sort_key(cell)
                compare = _COMPARATORS[op]
                rows = [row for row in rows
                        if not _is_null_or_unset(row[index]) and compare(type_.sort_key(row[index]), bound)]
        return rows

    def run(self, session: SessionState, params: wire.QueryParameters) -> bytes:
        values = params.values
        if len(values) != self.marker_count:
            self.check_values(values)
        rows = self._rows(values)
        if self.limit is not None:
            limit_cell = _resolve(self.limit, values)
            if len(limit_cell) != 8:
                raise invalid("LIMIT must be a non-null int")
            limit = struct.unpack(">i", limit_cell[4:])[0]
            if limit <= 0:
                raise invalid("LIMIT must be strictly positive")
            rows = rows[:limit]
        if self.count:
            return self._result([wire.value(struct.pack(">q", len(rows)))], 1, None, params)
        offset = 0
        if params.paging_state is not None:
            if len(params.paging_state) != _OFFSET.size:
                raise invalid("Invalid value for the paging state")
            offset = int(_OFFSET.unpack(params.paging_state)[0])
        page_size = params.page_size
        next_state: bytes | None = None
        if page_size > 0 and offset + page_size < len(rows):
            page, next_state = rows[offset:offset + page_size], _OFFSET.pack(offset + page_size)
        else:
            page = rows[offset:] if offset else rows
        projection = self.projection
        if projection is None:
            cells = list(itertools.chain.from_iterable(page))
        else:
            cells = [row[i] for row in page for i in projection]
        return self._result(cells, len(page), next_state, params)

    def _result(self, cells: list[bytes], row_count: int, next_state: bytes | None,
                params: wire.QueryParameters) -> bytes:
        flags = wire.META_GLOBAL_TABLES_SPEC
        parts = [_ROWS_KIND, b"", b""]
        if next_state is not None:
            flags |= wire.META_HAS_MORE_PAGES
            parts[2] = wire.value(next_state)
        if params.skip_metadata:
            flags |= wire.META_NO_METADATA
        else:
            parts.append(self.specs)
        parts[1] = wire.rows_header(flags, self.column_count)
        parts.append(wire.int_(row_count))
        parts.extend(cells)
        return b"".join(parts)


_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b, ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
}


class SystemSelect(Compiled):
    """A read of a system table: a constant body, encoded once."""

    def __init__(self, system_table: SystemTable, stmt: ast.Select) -> None:
        columns = system_table.columns
        by_name = {name: (i, t) for i, (name, t) in enumerate(columns)}
        if stmt.columns is None:
            picked = list(range(len(columns)))
        else:
            missing = [c for c in stmt.columns if c not in by_name]
            if missing:
                raise invalid(f"Undefined column name {missing[0]}")
            picked = [by_name[c][0] for c in stmt.columns]
        specs = b"".join(wire.string(columns[i][0]) + columns[i][1].option for i in picked)
        header = wire.string(system_table.keyspace) + wire.string(system_table.name)
        self.result_metadata = wire.rows_header(wire.META_GLOBAL_TABLES_SPEC, len(picked)) + header + specs
        self.marker_count = len(stmt.markers)
        self.body = (_ROWS_KIND + self.result_metadata + wire.int_(len(system_table.rows))
                     + b"".join(row[i] for row in system_table.rows for i in picked))

    def run(self, session: SessionState, params: wire.QueryParameters) -> bytes:
        return self.body


def _insert(table: Table, stmt: ast.Insert, binder: _Binder) -> Compiled:
    by_column: dict[Column, Source] = {}
    for name, term in zip(stmt.columns, stmt.terms):
        column = table.by_name.get(name)
        if column is None:
            raise invalid(f"Undefined column name {name}")
        if column in by_column:
            raise invalid(f"Multiple definitions found for column {name}")
        by_column[column] = binder.source(term, column.type)
    missing = [c.name for c in table.partition_key + table.clustering if c not in by_column]
    if missing:
        raise invalid(f"Some primary key parts are missing: {', '.join(missing)}")
    pk: KeySources = [(by_column.pop(c), c.type.size) for c in table.partition_key]
    ck: KeySources = [(by_column.pop(c), c.type.size) for c in table.clustering]
    values = [(c.index, source, c.type.size) for c, source in by_column.items()]
    return Upsert(table, stmt, pk, ck, values, binder)


def _update(table: Table, stmt: ast.Update, binder: _Binder) -> Compiled:
    values: list[tuple[int, Source, int | None]] = []
    for name, term in stmt.assignments:
        column = table.by_name.get(name)
        if column is None:
            raise invalid(f"Undefined column name {name}")
        if column in table.partition_key or column in table.clustering:
            raise invalid(f"PRIMARY KEY part {name} found in SET part")
        values.append((column.index, binder.source(term, column.type), column.type.size))
    pk, ck = _key_relations(table, stmt.where, binder, full_clustering=True)
    return Upsert(table, stmt, pk, ck, values, binder)


def _delete(table: Table, stmt: ast.Delete, binder: _Binder) -> Compiled:
    columns = []
    for name in stmt.columns:
        column = table.by_name.get(name)
        if column is None:
            raise invalid(f"Undefined column name {name}")
        if column in table.partition_key or column in table.clustering:
            raise invalid(f"Invalid identifier {name} for deletion (should not be a PRIMARY KEY part)")
        columns.append(column.index)
    pk, ck = _key_relations(table, stmt.where, binder, full_clustering=bool(columns))
    return Delete(table, stmt, pk, ck, columns, binder)
