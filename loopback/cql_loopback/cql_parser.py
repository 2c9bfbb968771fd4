"""A small parser for the CQL subset the loopback server executes.

Supported (case-insensitive keywords, optional trailing ';'):
  USE ks
  CREATE KEYSPACE [IF NOT EXISTS] ks [WITH ...]
  CREATE TABLE [IF NOT EXISTS] [ks.]t (col type [PRIMARY KEY], ...,
      [PRIMARY KEY ((pk, ...), ck, ...)]) [WITH CLUSTERING ORDER BY (ck DESC) AND ...]
  DROP KEYSPACE|TABLE [IF EXISTS] name;  TRUNCATE [TABLE] [ks.]t
  INSERT INTO [ks.]t (cols) VALUES (terms) [USING TTL|TIMESTAMP|TIMEOUT ...]
  UPDATE [ks.]t [USING ...] SET col = term, ... WHERE relations
  DELETE [cols] FROM [ks.]t [USING ...] WHERE relations
  SELECT *|cols|COUNT(*) FROM [ks.]t [WHERE relations] [LIMIT term]
      [ALLOW FILTERING] [USING TIMEOUT d]
A term is `?`, `:name` or a literal; relations are `col op term` joined by
AND, op one of = < > <= >=.  Anything else is a SyntaxException (0x2000),
so an unsupported statement fails loudly instead of being misread.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, NoReturn

from cql_loopback.errors import syntax_error

_TOKEN = re.compile(r"""
    (?P<skip>\s+|--[^\n]*|//[^\n]*|/\*.*?\*/)
  | (?P<str>'(?:[^']|'')*')
  | (?P<qid>"(?:[^"]|"")*")
  | (?P<uuid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)
  | (?P<hex>0[xX][0-9a-fA-F]*)
  | (?P<num>-?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)
  | (?P<id>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<marker>\?|:[A-Za-z_][A-Za-z0-9_]*)
  | (?P<sym><=|>=|!=|[(),;=*.<>{}\[\]:+\-])
""", re.VERBOSE | re.DOTALL)


@dataclass(frozen=True)
class Token:
    kind: str  # str, qid, uuid, hex, num, id, marker, sym, end
    text: str  # unquoted for str/qid
    pos: int


def tokenize(query: str) -> list[Token]:
    tokens, pos, n = [], 0, len(query)
    while pos < n:
        m = _TOKEN.match(query, pos)
        if m is None:
            raise syntax_error(f"line 1:{pos} unexpected character {query[pos]!r}")
        kind = m.lastgroup or "skip"  # every alternative is a named group
        text = m.group()
        if kind == "str":
            text = text[1:-1].replace("''", "'")
        elif kind == "qid":
            text = text[1:-1].replace('""', '"')
        if kind != "skip":
            tokens.append(Token(kind, text, pos))
        pos = m.end()
    tokens.append(Token("end", "", n))
    return tokens


@dataclass(frozen=True)
class Term:
    """A bind marker (kind "marker", `index` = its position) or a literal."""

    kind: str
    text: str
    index: int = -1


@dataclass(frozen=True)
class Relation:
    column: str
    op: str
    term: Term


# What a bind marker binds: ("column", name), ("limit", None), ("ttl", None)
# or ("timestamp", None).
MarkerTarget = tuple[str, "str | None"]


@dataclass
class Statement:
    markers: list[MarkerTarget] = field(default_factory=list)  # in textual order


@dataclass
class Use(Statement):
    keyspace: str = ""


@dataclass
class CreateKeyspace(Statement):
    name: str = ""
    if_not_exists: bool = False


@dataclass
class OnTable(Statement):
    """A statement about one table; `keyspace` None means the session's."""

    keyspace: str | None = None
    name: str = ""


@dataclass
class CreateTable(OnTable):
    if_not_exists: bool = False
    columns: list[tuple[str, str]] = field(default_factory=list)  # (name, type spelling)
    partition_key: list[str] = field(default_factory=list)
    clustering: list[str] = field(default_factory=list)
    descending: set[str] = field(default_factory=set)


@dataclass
class DropKeyspace(Statement):
    name: str = ""
    if_exists: bool = False


@dataclass
class DropTable(OnTable):
    if_exists: bool = False


@dataclass
class Truncate(OnTable):
    pass


@dataclass
class Insert(OnTable):
    columns: list[str] = field(default_factory=list)
    terms: list[Term] = field(default_factory=list)


@dataclass
class Update(OnTable):
    assignments: list[tuple[str, Term]] = field(default_factory=list)
    where: list[Relation] = field(default_factory=list)


@dataclass
class Delete(OnTable):
    columns: list[str] = field(default_factory=list)
    where: list[Relation] = field(default_factory=list)


@dataclass
class Select(OnTable):
    columns: list[str] | None = None  # None means "*"
    count: bool = False
    where: list[Relation] = field(default_factory=list)
    limit: Term | None = None


_OPS = ("=", "<", ">", "<=", ">=")


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens = tokenize(query)
        self.i = 0
        self.markers: list[MarkerTarget] = []

    # -- token helpers ----------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def _fail(self, expected: str) -> NoReturn:
        t = self.tok
        found = "end of input" if t.kind == "end" else repr(t.text)
        raise syntax_error(f"line 1:{t.pos} expected {expected}, found {found}")

    def at(self, *words: str) -> bool:
        t = self.tok
        return t.kind == "id" and t.text.lower() in words

    def accept(self, word: str) -> bool:
        if self.at(word):
            self.i += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.accept(word):
            self._fail(word.upper())

    def accept_sym(self, sym: str) -> bool:
        t = self.tok
        if t.kind == "sym" and t.text == sym:
            self.i += 1
            return True
        return False

    def expect_sym(self, sym: str) -> None:
        if not self.accept_sym(sym):
            self._fail(repr(sym))

    def ident(self) -> str:
        t = self.tok
        if t.kind == "id":
            self.i += 1
            return t.text.lower()
        if t.kind == "qid":
            self.i += 1
            return t.text
        self._fail("an identifier")

    def qualified_name(self) -> tuple[str | None, str]:
        first = self.ident()
        if self.accept_sym("."):
            return first, self.ident()
        return None, first

    def term(self, target: MarkerTarget) -> Term:
        t = self.tok
        if t.kind == "marker":
            self.i += 1
            self.markers.append(target)
            return Term("marker", t.text, len(self.markers) - 1)
        if t.kind in ("str", "num", "hex", "uuid") or (
                t.kind == "id" and t.text.lower() in ("true", "false", "null", "nan", "infinity")):
            self.i += 1
            return Term(t.kind, t.text)
        if t.kind == "sym" and t.text == "-" and self.tokens[self.i + 1].text.lower() in ("nan", "infinity"):
            self.i += 2
            return Term("id", "-" + self.tokens[self.i - 1].text)
        self._fail("a bind marker or a literal")

    def finish(self, stmt: Statement) -> Statement:
        self.accept_sym(";")
        if self.tok.kind != "end":
            self._fail("end of statement")
        stmt.markers = self.markers
        return stmt

    def skip_balanced_until(self, *stop_words: str) -> None:
        """Skip option values such as {'class': 'X', 'k': 1} or 0.01."""
        depth = 0
        while self.tok.kind != "end":
            t = self.tok
            if depth == 0 and (self.at(*stop_words) or (t.kind == "sym" and t.text == ";")):
                return
            if t.kind == "sym" and t.text in "({[":
                depth += 1
            elif t.kind == "sym" and t.text in ")}]":
                depth -= 1
            self.i += 1

    def if_not_exists(self) -> bool:
        if self.accept("if"):
            self.expect("not")
            self.expect("exists")
            return True
        return False

    def if_exists(self) -> bool:
        if self.accept("if"):
            self.expect("exists")
            return True
        return False

    def using_clause(self) -> None:
        """USING TTL t | TIMESTAMP t | TIMEOUT d [AND ...]: accepted, ignored."""
        if not self.accept("using"):
            return
        while True:
            if self.accept("ttl"):
                self.term(("ttl", None))
            elif self.accept("timestamp"):
                self.term(("timestamp", None))
            elif self.accept("timeout"):
                if self.tok.kind == "marker":
                    self.term(("timeout", None))
                else:
                    if self.tok.kind != "num":
                        self._fail("a duration")
                    self.i += 1
                    if self.tok.kind == "id" and not self.at("and", "set", "where", "if"):
                        self.i += 1  # the unit: ms, s, m, h ...
            else:
                self._fail("TTL, TIMESTAMP or TIMEOUT")
            if not self.accept("and"):
                return

    def no_conditions(self) -> None:
        if self.at("if"):
            raise syntax_error("conditional (IF ...) statements are not supported by the loopback server")

    def where(self) -> list[Relation]:
        relations: list[Relation] = []
        if not self.accept("where"):
            return relations
        while True:
            column = self.ident()
            t = self.tok
            if t.kind != "sym" or t.text not in _OPS:
                self._fail("one of = < > <= >=")
            self.i += 1
            relations.append(Relation(column, t.text, self.term(("column", column))))
            if not self.accept("and"):
                return relations

    # -- statements -------------------------------------------------------
    def statement(self) -> Statement:
        t = self.tok
        handler = _STATEMENTS.get(t.text.lower()) if t.kind == "id" else None
        if handler is None:
            self._fail("a statement (SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, TRUNCATE, USE)")
        self.i += 1
        return handler(self)

    def _use(self) -> Statement:
        return self.finish(Use(keyspace=self.ident()))

    def _create(self) -> Statement:
        if self.accept("keyspace") or self.accept("schema"):
            stmt = CreateKeyspace(if_not_exists=self.if_not_exists(), name=self.ident())
            if self.accept("with"):
                self.skip_balanced_until()
            return self.finish(stmt)
        if self.accept("table") or self.accept("columnfamily"):
            return self._create_table()
        self._fail("KEYSPACE or TABLE")

    def _create_table(self) -> Statement:
        stmt = CreateTable(if_not_exists=self.if_not_exists())
        stmt.keyspace, stmt.name = self.qualified_name()
        self.expect_sym("(")
        while True:
            if self.accept("primary"):
                self.expect("key")
                self._primary_key(stmt)
            else:
                name = self.ident()
                stmt.columns.append((name, self._type()))
                self.accept("static")
                if self.accept("primary"):
                    self.expect("key")
                    if stmt.partition_key:
                        raise syntax_error("multiple PRIMARY KEY definitions")
                    stmt.partition_key = [name]
            if not self.accept_sym(","):
                break
            if self.tok.kind == "sym" and self.tok.text == ")":
                break  # a trailing comma, as Cassandra tolerates
        self.expect_sym(")")
        if self.accept("with"):
            self._table_options(stmt)
        return self.finish(stmt)

    def _primary_key(self, stmt: CreateTable) -> None:
        if stmt.partition_key:
            raise syntax_error("multiple PRIMARY KEY definitions")
        self.expect_sym("(")
        if self.accept_sym("("):
            stmt.partition_key = [self.ident()]
            while self.accept_sym(","):
                stmt.partition_key.append(self.ident())
            self.expect_sym(")")
        else:
            stmt.partition_key = [self.ident()]
        while self.accept_sym(","):
            stmt.clustering.append(self.ident())
        self.expect_sym(")")

    def _type(self) -> str:
        parts = [self.ident()]
        if self.accept_sym("<"):
            depth = 1
            parts.append("<")
            while depth:
                t = self.tok
                if t.kind == "end":
                    self._fail("'>'")
                depth += t.text == "<"
                depth -= t.text == ">"
                parts.append(t.text.lower() if t.kind == "id" else t.text)
                self.i += 1
        return "".join(parts)

    def _table_options(self, stmt: CreateTable) -> None:
        while True:
            if self.accept("clustering"):
                self.expect("order")
                self.expect("by")
                self.expect_sym("(")
                while True:
                    column = self.ident()
                    if self.accept("desc"):
                        stmt.descending.add(column)
                    else:
                        self.accept("asc")
                    if not self.accept_sym(","):
                        break
                self.expect_sym(")")
            elif self.accept("compact"):
                self.expect("storage")
            else:
                self.ident()
                self.expect_sym("=")
                self.skip_balanced_until("and")
            if not self.accept("and"):
                return

    def _drop(self) -> Statement:
        if self.accept("keyspace") or self.accept("schema"):
            return self.finish(DropKeyspace(if_exists=self.if_exists(), name=self.ident()))
        if self.accept("table") or self.accept("columnfamily"):
            drop = DropTable(if_exists=self.if_exists())
            drop.keyspace, drop.name = self.qualified_name()
            return self.finish(drop)
        self._fail("KEYSPACE or TABLE")

    def _truncate(self) -> Statement:
        self.accept("table") or self.accept("columnfamily")
        stmt = Truncate()
        stmt.keyspace, stmt.name = self.qualified_name()
        return self.finish(stmt)

    def _insert(self) -> Statement:
        self.expect("into")
        stmt = Insert()
        stmt.keyspace, stmt.name = self.qualified_name()
        self.expect_sym("(")
        stmt.columns.append(self.ident())
        while self.accept_sym(","):
            stmt.columns.append(self.ident())
        self.expect_sym(")")
        self.expect("values")
        self.expect_sym("(")
        for n, column in enumerate(stmt.columns):
            if n:
                self.expect_sym(",")
            stmt.terms.append(self.term(("column", column)))
        self.expect_sym(")")
        if self.at("if"):
            self.no_conditions()
        self.using_clause()
        return self.finish(stmt)

    def _update(self) -> Statement:
        stmt = Update()
        stmt.keyspace, stmt.name = self.qualified_name()
        self.using_clause()
        self.expect("set")
        while True:
            column = self.ident()
            self.expect_sym("=")
            stmt.assignments.append((column, self.term(("column", column))))
            if not self.accept_sym(","):
                break
        stmt.where = self.where()
        self.no_conditions()
        return self.finish(stmt)

    def _delete(self) -> Statement:
        stmt = Delete()
        if not self.at("from"):
            stmt.columns.append(self.ident())
            while self.accept_sym(","):
                stmt.columns.append(self.ident())
        self.expect("from")
        stmt.keyspace, stmt.name = self.qualified_name()
        self.using_clause()
        stmt.where = self.where()
        self.no_conditions()
        return self.finish(stmt)

    def _select(self) -> Statement:
        stmt = Select()
        if self.accept_sym("*"):
            stmt.columns = None
        elif self.at("count") and self.tokens[self.i + 1].text == "(":
            self.i += 2
            if not (self.accept_sym("*") or self.tok.text == "1" and self._advance()):
                self._fail("'*' or 1")
            self.expect_sym(")")
            stmt.count = True
            stmt.columns = ["count"]
            if self.accept("as"):
                stmt.columns = [self.ident()]
        else:
            stmt.columns = [self.ident()]
            while self.accept_sym(","):
                stmt.columns.append(self.ident())
        self.expect("from")
        stmt.keyspace, stmt.name = self.qualified_name()
        stmt.where = self.where()
        if self.accept("limit"):
            stmt.limit = self.term(("limit", None))
        if self.accept("allow"):
            self.expect("filtering")
        self.using_clause()
        return self.finish(stmt)

    def _advance(self) -> bool:
        self.i += 1
        return True


_STATEMENTS: dict[str, Callable[[_Parser], Statement]] = {
    "use": _Parser._use, "create": _Parser._create, "drop": _Parser._drop,
    "truncate": _Parser._truncate, "insert": _Parser._insert, "update": _Parser._update,
    "delete": _Parser._delete, "select": _Parser._select,
}


def parse(query: str) -> Statement:
    """Parse one CQL statement; raises CqlError(SYNTAX_ERROR) when unsupported."""
    return _Parser(query).statement()
