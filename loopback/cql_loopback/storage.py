"""In-memory keyspaces and tables.

A row is a list of wire cells ([bytes] including the length prefix), one per
table column, so reads are a join of stored bytes.  Partitions are keyed by
the tuple of their partition-key cells and kept in insertion order (there is
no token ring); rows inside a partition are sorted by clustering key lazily,
on the first read after a write that added a row.
"""
from __future__ import annotations

from collections.abc import Iterable

from cql_loopback.cqltypes import CqlType
from cql_loopback.wire import NULL_VALUE

Key = tuple[bytes, ...]  # the wire cells of a partition or clustering key
Row = list[bytes]  # one wire cell per table column


class Column:
    __slots__ = ("name", "type", "index")

    def __init__(self, name: str, type_: CqlType, index: int) -> None:
        self.name = name
        self.type = type_
        self.index = index


class Partition:
    __slots__ = ("rows", "_ordered")

    def __init__(self) -> None:
        self.rows: dict[Key, Row] = {}  # clustering cells -> row
        self._ordered: list[Row] | None = None

    def ordered(self, table: Table) -> list[Row]:
        """Rows in clustering order; the returned list must not be mutated."""
        ordered = self._ordered
        if ordered is None:
            ordered = list(self.rows.values())
            # Stable multi-pass sort, last clustering column first: handles a
            # mix of ASC and DESC columns without a combined key.
            for column, descending in reversed(table.clustering_order):
                index, sort_key = column.index, column.type.sort_key
                ordered.sort(key=lambda row: sort_key(row[index]), reverse=descending)
            self._ordered = ordered
        return ordered


class Table:
    def __init__(self, keyspace: str, name: str, columns: list[tuple[str, CqlType]],
                 partition_key: list[str], clustering: list[str], descending: set[str]) -> None:
        self.keyspace = keyspace
        self.name = name
        by_name = dict(columns)
        keys = partition_key + clustering
        # The column order of SELECT *: partition key, clustering, then the
        # other columns alphabetically, as Cassandra does.
        ordered = keys + sorted(c for c in by_name if c not in keys)
        self.columns = [Column(c, by_name[c], i) for i, c in enumerate(ordered)]
        self.by_name = {c.name: c for c in self.columns}
        self.partition_key = [self.by_name[c] for c in partition_key]
        self.clustering = [self.by_name[c] for c in clustering]
        self.clustering_order = [(c, c.name in descending) for c in self.clustering]
        self.partitions: dict[Key, Partition] = {}

    def upsert(self, pk: Key, ck: Key, assignments: Iterable[tuple[int, bytes]]) -> None:
        """Write (column index, cell) pairs into the row at (pk, ck)."""
        partition = self.partitions.get(pk)
        if partition is None:
            partition = self.partitions[pk] = Partition()
        row = partition.rows.get(ck)
        if row is None:
            row = [NULL_VALUE] * len(self.columns)
            row[:len(pk)] = pk
            row[len(pk):len(pk) + len(ck)] = ck
            partition.rows[ck] = row
            partition._ordered = None
        for index, cell in assignments:
            row[index] = cell

    def delete(self, pk: Key, ck_prefix: Key, columns: list[int]) -> None:
        """Null `columns` of, or (if empty) remove, the rows under pk+ck_prefix."""
        partition = self.partitions.get(pk)
        if partition is None:
            return
        n = len(ck_prefix)
        doomed = [ck for ck in partition.rows if ck[:n] == ck_prefix]
        for ck in doomed:
            if columns:
                row = partition.rows[ck]
                for index in columns:
                    row[index] = NULL_VALUE
            else:
                del partition.rows[ck]
        if not columns:
            partition._ordered = None
            if not partition.rows:
                del self.partitions[pk]

    def truncate(self) -> None:
        self.partitions.clear()


class Schema:
    """Keyspace name -> {table name -> Table}."""

    def __init__(self) -> None:
        self.keyspaces: dict[str, dict[str, Table]] = {}

    def table(self, keyspace: str, name: str) -> Table | None:
        tables = self.keyspaces.get(keyspace)
        return None if tables is None else tables.get(name)
