"""Flat WIQL: `SELECT ... FROM WorkItems WHERE ... ORDER BY ...`, parsed and run over the stored items.

Covers the forms a migration tool sends: comparisons (= <> > < >= <=), IN / NOT IN, CONTAINS (WORDS),
UNDER, IS EMPTY, AND / OR / NOT with parentheses, and the macros @project, @me, @today (+/- days).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apps.sandbox.ado.render import parse_iso
from apps.sandbox.machinery import VendorError

MAX_RESULTS = 20_000

_TOKEN = re.compile(
    r"\s*(?:(?P<field>\[[^\]]+\])|(?P<string>'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<macro>@[A-Za-z]+)|(?P<op><>|!=|>=|<=|=|>|<|\(|\)|,|\+|-)|(?P<word>[A-Za-z_][\w.]*))",
)


def _syntax(message: str) -> VendorError:
    return VendorError(400, f"TF51006: The query statement is not valid. {message}", type_key="QuerySyntaxException")


@dataclass
class Token:
    kind: str
    value: str


def tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise _syntax(f"The error is caused by «{text[pos:pos + 20]}».")
        pos = match.end()
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "field":
            value = value[1:-1].strip()
        elif kind == "string":
            quote = value[0]
            value = value[1:-1].replace(quote * 2, quote)
        tokens.append(Token(kind, value))
    return tokens


@dataclass
class Query:
    columns: list[str]
    source: str
    where: object
    order: list[tuple[str, bool]]


class Parser:
    def __init__(self, tokens):
        self.tokens = tokens
        self.i = 0

    def peek(self, offset=0):
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def word(self, *words, offset=0) -> bool:
        tok = self.peek(offset)
        return tok is not None and tok.kind == "word" and tok.value.upper() in words

    def take(self):
        tok = self.peek()
        if tok is None:
            raise _syntax("The query ends too early.")
        self.i += 1
        return tok

    def expect_word(self, word):
        tok = self.take()
        if tok.kind != "word" or tok.value.upper() != word:
            raise _syntax(f"Expecting {word}. The error is caused by «{tok.value}».")

    def field_name(self):
        tok = self.take()
        if tok.kind not in ("field", "word"):
            raise _syntax(f"Expecting a field name. The error is caused by «{tok.value}».")
        return tok.value

    def parse(self) -> Query:
        self.expect_word("SELECT")
        columns = [self.field_name()]
        while self.peek() and self.peek().value == ",":
            self.take()
            columns.append(self.field_name())
        self.expect_word("FROM")
        source = self.take().value
        if source.lower() not in ("workitems", "workitemlinks"):
            raise _syntax(f"Expecting WorkItems. The error is caused by «{source}».")
        if source.lower() == "workitemlinks":
            raise VendorError(400, "VS402364: This sandbox answers flat queries (FROM WorkItems) only.",
                              type_key="QueryNotSupportedException")
        where = None
        if self.word("WHERE"):
            self.take()
            where = self.expr()
        order = []
        if self.word("ORDER"):
            self.take()
            self.expect_word("BY")
            while True:
                name = self.field_name()
                descending = False
                if self.word("ASC", "DESC"):
                    descending = self.take().value.upper() == "DESC"
                order.append((name, descending))
                if self.peek() and self.peek().value == ",":
                    self.take()
                    continue
                break
        if self.word("ASOF"):
            self.take()
            self.take()
        if self.peek() is not None:
            raise _syntax(f"The error is caused by «{self.peek().value}».")
        return Query(columns, source, where, order)

    def expr(self):
        node = self.term()
        while self.word("OR"):
            self.take()
            node = ("or", node, self.term())
        return node

    def term(self):
        node = self.factor()
        while self.word("AND"):
            self.take()
            node = ("and", node, self.factor())
        return node

    def factor(self):
        if self.word("NOT") and not self.word("IN", "CONTAINS", "UNDER", offset=1):
            self.take()
            return ("not", self.factor())
        tok = self.peek()
        if tok is not None and tok.value == "(":
            self.take()
            node = self.expr()
            closing = self.take()
            if closing.value != ")":
                raise _syntax(f"Expecting ). The error is caused by «{closing.value}».")
            return node
        return self.condition()

    def condition(self):
        name = self.field_name()
        negate = False
        if self.word("NOT"):
            self.take()
            negate = True
        tok = self.take()
        op = tok.value.upper() if tok.kind == "word" else tok.value
        if op == "IS":
            if self.word("NOT"):
                self.take()
                negate = not negate
            self.expect_word("EMPTY")
            node = ("empty", name)
        elif op == "IN":
            if self.word("GROUP"):
                raise VendorError(400, "VS402364: IN GROUP is not supported by this sandbox.", type_key="QueryNotSupportedException")
            opening = self.take()
            if opening.value != "(":
                raise _syntax("Expecting (.")
            values = [self.value()]
            while self.peek() and self.peek().value == ",":
                self.take()
                values.append(self.value())
            if self.take().value != ")":
                raise _syntax("Expecting ).")
            node = ("in", name, values)
        elif op == "CONTAINS":
            words = False
            if self.word("WORDS"):
                self.take()
                words = True
            node = ("contains", name, self.value(), words)
        elif op == "UNDER":
            node = ("under", name, self.value())
        elif op == "EVER":
            node = ("cmp", name, "=", self.value())
        elif op in ("=", "<>", "!=", ">", "<", ">=", "<="):
            node = ("cmp", name, "<>" if op == "!=" else op, self.value())
        else:
            raise _syntax(f"Expecting an operator. The error is caused by «{tok.value}».")
        return ("not", node) if negate else node

    def value(self):
        tok = self.take()
        if tok.kind == "string":
            return ("lit", tok.value)
        if tok.kind == "number":
            return ("lit", float(tok.value) if "." in tok.value else int(tok.value))
        if tok.kind == "field":
            return ("field", tok.value)
        if tok.kind == "macro":
            offset = 0
            if self.peek() and self.peek().value in ("+", "-"):
                sign = -1 if self.take().value == "-" else 1
                number = self.take()
                if number.kind != "number":
                    raise _syntax("Expecting a number after the macro.")
                offset = sign * int(float(number.value))
            return ("macro", tok.value.lower(), offset)
        if tok.kind == "word" and tok.value.lower() in ("true", "false"):
            return ("lit", tok.value.lower() == "true")
        raise _syntax(f"Expecting a value. The error is caused by «{tok.value}».")


def parse(text: str) -> Query:
    if not isinstance(text, str) or not text.strip():
        raise VendorError(400, "VS402335: The query is empty.", type_key="QueryEmptyException")
    return Parser(tokenize(text)).parse()


class Evaluator:
    def __init__(self, *, fields_def: dict, project_name: str | None, me: dict, time_precision: bool):
        self.fields_def = fields_def
        self.project_name = project_name
        self.me = me
        self.time_precision = time_precision
        self._refs: dict[str, str] = {}

    def ref(self, name: str) -> str:
        if name in self._refs:
            return self._refs[name]
        lowered = name.lower()
        for ref, definition in self.fields_def.items():
            if ref.lower() == lowered or definition["name"].lower() == lowered:
                self._refs[name] = ref
                return ref
        raise VendorError(400, f"TF51005: The query references a field that does not exist. The error is caused by «{name}».",
                          type_key="QueryFieldNotFoundException")

    def used_refs(self) -> list[str]:
        return list(self._refs.values())

    def check(self, node):
        """Resolve every field name and macro once, before running, so a bad one is an error even when
        no item would be compared."""
        if node is None:
            return
        kind = node[0]
        if kind in ("and", "or"):
            self.check(node[1])
            self.check(node[2])
            return
        if kind == "not":
            self.check(node[1])
            return
        ref = self.ref(node[1])
        values = {"cmp": [node[3]] if kind == "cmp" else [], "in": node[2] if kind == "in" else [],
                  "contains": [node[2]] if kind == "contains" else [], "under": [node[2]] if kind == "under" else []}
        for value in values.get(kind, []):
            if value[0] == "field":
                self.ref(value[1])
            elif value[0] == "macro":
                self.resolve(value, ref, {})

    def resolve(self, value, ref, fields):
        kind = value[0]
        if kind == "lit":
            return value[1]
        if kind == "field":
            return fields.get(self.ref(value[1]))
        macro, offset = value[1], value[2]
        if macro == "@project":
            if not self.project_name:
                raise VendorError(400, "TF51011: The @project macro needs a project in the URL.", type_key="QueryMacroException")
            return self.project_name
        if macro == "@me":
            return self.me.get("uniqueName", "")
        if macro == "@today":
            today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            return (today + timedelta(days=offset)).date().isoformat()
        raise VendorError(400, f"TF51011: The macro {macro} is not supported by this sandbox.", type_key="QueryMacroException")

    def kind_of(self, ref):
        return self.fields_def[ref]["type"]

    def matches(self, node, fields) -> bool:
        if node is None:
            return True
        kind = node[0]
        if kind == "and":
            return self.matches(node[1], fields) and self.matches(node[2], fields)
        if kind == "or":
            return self.matches(node[1], fields) or self.matches(node[2], fields)
        if kind == "not":
            return not self.matches(node[1], fields)
        ref = self.ref(node[1])
        actual = fields.get(ref)
        if kind == "empty":
            return actual in (None, "")
        if kind == "in":
            return any(self.compare(ref, actual, "=", self.resolve(v, ref, fields)) for v in node[2])
        if kind == "contains":
            needle = str(self.resolve(node[2], ref, fields) or "").lower()
            text = _text(actual).lower()
            if ref == "System.Tags":
                return needle in [t.strip().lower() for t in text.split(";")]
            if node[3]:
                return re.search(rf"\b{re.escape(needle)}", text) is not None
            return needle in text
        if kind == "under":
            path = str(self.resolve(node[2], ref, fields) or "").lower().rstrip("\\")
            current = str(actual or "").lower()
            return current == path or current.startswith(path + "\\")
        return self.compare(ref, actual, node[2], self.resolve(node[3], ref, fields))

    def compare(self, ref, actual, op, expected) -> bool:
        typ = self.kind_of(ref)
        if actual is None or actual == "":
            if op == "=":
                return expected in (None, "")
            if op == "<>":
                return expected not in (None, "")
            return False
        if typ == "dateTime":
            left, right = parse_iso(actual), parse_iso(expected) if isinstance(expected, str) else None
            if right is None:
                raise VendorError(400, f"TF51003: The value '{expected}' is not a date.", type_key="QueryInvalidValueException")
            if not self.time_precision or (isinstance(expected, str) and len(expected.strip()) <= 10):
                left, right = left.date(), right.date()
        elif typ in ("integer", "double"):
            try:
                left, right = float(actual), float(expected)
            except (TypeError, ValueError):
                raise VendorError(400, f"TF51003: The value '{expected}' is not a number.",
                                  type_key="QueryInvalidValueException") from None
        else:
            left = _text(actual).lower()
            right = str(expected).lower()
            if isinstance(actual, dict):  # identity: match the e-mail, the name or "Name <e-mail>"
                names = {str(actual.get("uniqueName", "")).lower(), str(actual.get("displayName", "")).lower(),
                         f"{actual.get('displayName', '')} <{actual.get('uniqueName', '')}>".lower()}
                if op == "=":
                    return right in names
                if op == "<>":
                    return right not in names
        return {"=": left == right, "<>": left != right, ">": left > right, "<": left < right,
                ">=": left >= right, "<=": left <= right}[op]

    def sort_key(self, ref, fields):
        value = fields.get(ref)
        if value is None or value == "":
            return (1, "")
        typ = self.kind_of(ref)
        if typ in ("integer", "double"):
            return (0, float(value))
        if typ == "dateTime":
            return (0, parse_iso(value).timestamp())
        return (0, _text(value).lower())


def _text(value) -> str:
    if isinstance(value, dict):
        return f"{value.get('displayName', '')} <{value.get('uniqueName', '')}>"
    return "" if value is None else str(value)


def project_prefilter(node) -> tuple[str, object] | None:
    """The project a query is limited to by a top-level `[System.TeamProject] = ...`, to narrow the scan."""
    if node is None:
        return None
    if node[0] == "and":
        return project_prefilter(node[1]) or project_prefilter(node[2])
    if node[0] == "cmp" and node[2] == "=" and node[1].lower() in ("system.teamproject", "team project"):
        return node[3]
    return None
