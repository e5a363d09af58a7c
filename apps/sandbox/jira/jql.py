"""The part of JQL a migration tool asks for, turned into a query on `JiraIssue`.

Clauses: project, issuetype (type), key / issuekey / id (=, !=, IN, <, <=, >, >=), created and updated
(absolute dates and relative `-7d` / `-2w` / `-3h` / `-15m`), labels, status, statusCategory, resolution,
priority, parent, assignee, reporter, sprint (ids, names, openSprints(), closedSprints(),
futureSprints()), "Epic Link", summary / text (~), EMPTY / NULL; AND, OR, NOT and parentheses; ORDER BY
key, id, created, updated, priority, rank. Also component, fixVersion and affectedVersion (by name or id). Anything else is answered as Jira answers it: 400 naming the
clause. Entity properties are not searchable here, as in the issue's brief.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Q

from apps.sandbox.jira import catalog


class JqlError(ValueError):
    pass


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>!=|>=|<=|!~|=|>|<|~|\(|\)|,)
      | (?P<word>[^\s=!<>~(),"']+)
    )""",
    re.VERBOSE,
)
KEYWORDS = {"AND", "OR", "NOT", "IN", "IS", "EMPTY", "NULL", "ORDER", "BY", "ASC", "DESC"}
ORDERABLE = {"key": ("project__key", "number"), "issuekey": ("project__key", "number"), "id": ("id",),
             "created": ("created",), "updated": ("updated",), "priority": ("priority_id",), "rank": ("rank", "id"),
             "resolutiondate": ("resolutiondate",), "duedate": ("duedate",)}
FIELD_ALIASES = {"type": "issuetype", "issuekey": "key", "epic link": "epic link", "cf[10014]": "epic link",
                 "cf[10020]": "sprint", "createddate": "created", "updateddate": "updated"}


# JQL clause (lower case) -> the issue's list of version ids
VERSION_CLAUSES = {"fixversion": "fix_version_ids", "affectedversion": "affects_version_ids"}


@dataclass
class Token:
    kind: str  # string, op, word
    value: str


@dataclass
class ParsedJql:
    where: Q | None
    order_by: list[str] = field(default_factory=list)

    @property
    def bounded(self) -> bool:
        return self.where is not None


def _tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise JqlError(f"Error in the JQL Query: The character '{text[pos]}' is a reserved JQL character. "
                           "You must enclose it in a string or use the escape '\\u0022' instead.")
        pos = match.end()
        if match.group("string") is not None:
            raw = match.group("string")[1:-1]
            tokens.append(Token("string", re.sub(r"\\(.)", r"\1", raw)))
        elif match.group("op") is not None:
            tokens.append(Token("op", match.group("op")))
        elif match.group("word") is not None:
            tokens.append(Token("word", match.group("word")))
    return tokens


class _Parser:
    def __init__(self, site, text: str, now: datetime | None = None):
        self.site = site
        self.tokens = _tokenize(text)
        self.pos = 0
        self.now = now or datetime.now(UTC)

    # --- token helpers ----------------------------------------------------------------------------
    def peek(self, offset=0) -> Token | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def keyword(self, *words) -> bool:
        token = self.peek()
        return token is not None and token.kind == "word" and token.value.upper() in words

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise JqlError("Error in the JQL Query: Expecting either a value, list or function but got end of query.")
        self.pos += 1
        return token

    def expect_op(self, op):
        token = self.take()
        if token.kind != "op" or token.value != op:
            raise JqlError(f"Error in the JQL Query: Expecting '{op}' but got '{token.value}'.")

    # --- grammar ----------------------------------------------------------------------------------
    def parse(self) -> ParsedJql:
        where = None
        if self.peek() is not None and not self.keyword("ORDER"):
            where = self.or_expr()
        order = []
        if self.keyword("ORDER"):
            self.take()
            if not self.keyword("BY"):
                raise JqlError("Error in the JQL Query: Expecting 'BY' after 'ORDER'.")
            self.take()
            order = self.order_list()
        if self.peek() is not None:
            raise JqlError(f"Error in the JQL Query: Expecting operator but got '{self.peek().value}'.")
        return ParsedJql(where=where, order_by=order)

    def or_expr(self) -> Q:
        q = self.and_expr()
        while self.keyword("OR"):
            self.take()
            q = q | self.and_expr()
        return q

    def and_expr(self) -> Q:
        q = self.not_expr()
        while self.keyword("AND"):
            self.take()
            q = q & self.not_expr()
        return q

    def not_expr(self) -> Q:
        if self.keyword("NOT"):
            self.take()
            return ~self.not_expr()
        token = self.peek()
        if token is not None and token.kind == "op" and token.value == "(":
            self.take()
            q = self.or_expr()
            self.expect_op(")")
            return q
        return self.clause()

    def order_list(self) -> list[str]:
        order = []
        while True:
            token = self.take()
            name = FIELD_ALIASES.get(token.value.lower(), token.value.lower())
            if name not in ORDERABLE:
                raise JqlError(f"Not able to sort using field '{token.value}'.")
            descending = False
            if self.keyword("ASC", "DESC"):
                descending = self.take().value.upper() == "DESC"
            order += [("-" if descending else "") + column for column in ORDERABLE[name]]
            if self.peek() is not None and self.peek().kind == "op" and self.peek().value == ",":
                self.take()
                continue
            return order

    def clause(self) -> Q:
        token = self.take()
        if token.kind == "op":
            raise JqlError(f"Error in the JQL Query: Expecting a field name but got '{token.value}'.")
        raw_field = token.value
        name = FIELD_ALIASES.get(raw_field.lower(), raw_field.lower())
        op = self.operator()
        if op in ("IS", "IS NOT"):
            if not self.keyword("EMPTY", "NULL"):
                raise JqlError(f"Error in the JQL Query: Expecting 'EMPTY' after '{op}'.")
            self.take()
            q = self.empty(name, raw_field)
            return ~q if op == "IS NOT" else q
        if op in ("IN", "NOT IN"):
            function_call = self.peek() is not None and self.peek().kind == "word" and self.peek(1) is not None \
                and self.peek(1).value == "("
            values = [self.value()] if function_call else self.value_list()
            q = Q(pk__in=[])
            for value in values:
                q |= self.compare(name, raw_field, "=", value)
            return ~q if op == "NOT IN" else q
        value = self.value()
        if op == "!=":
            return ~self.compare(name, raw_field, "=", value)
        if op == "!~":
            return ~self.compare(name, raw_field, "~", value)
        return self.compare(name, raw_field, op, value)

    def operator(self) -> str:
        if self.keyword("IN"):
            self.take()
            return "IN"
        if self.keyword("NOT"):
            self.take()
            if not self.keyword("IN"):
                raise JqlError("Error in the JQL Query: Expecting 'IN' after 'NOT'.")
            self.take()
            return "NOT IN"
        if self.keyword("IS"):
            self.take()
            if self.keyword("NOT"):
                self.take()
                return "IS NOT"
            return "IS"
        token = self.take()
        if token.kind != "op" or token.value in ("(", ")", ","):
            raise JqlError(f"Error in the JQL Query: Expecting operator but got '{token.value}'.")
        return token.value

    def value(self) -> str:
        token = self.take()
        if token.kind == "op":
            raise JqlError(f"Error in the JQL Query: Expecting either a value, list or function but got '{token.value}'.")
        if token.kind == "word" and self.peek() is not None and self.peek().value == "(":
            self.take()
            self.expect_op(")")
            return token.value + "()"
        return token.value

    def value_list(self) -> list[str]:
        self.expect_op("(")
        values = [self.value()]
        while self.peek() is not None and self.peek().value == ",":
            self.take()
            values.append(self.value())
        self.expect_op(")")
        return values

    # --- clauses ----------------------------------------------------------------------------------
    def empty(self, name, raw) -> Q:
        if name in VERSION_CLAUSES:
            return Q(pk__in=self._issues_holding(VERSION_CLAUSES[name], None))
        columns = {"labels": Q(labels_index=""), "assignee": Q(assignee__isnull=True),
                   "parent": Q(parent__isnull=True), "resolution": Q(resolution_id=""),
                   "sprint": Q(sprints__isnull=True), "duedate": Q(duedate__isnull=True),
                   "resolutiondate": Q(resolutiondate__isnull=True), "epic link": Q(parent__isnull=True),
                   "reporter": Q(reporter__isnull=True), "description": Q(description__isnull=True)}
        if name not in columns:
            self.unknown(raw)
        return columns[name]

    def unknown(self, raw):
        raise JqlError(f"Field '{raw}' does not exist or you do not have permission to view it.")

    def compare(self, name: str, raw: str, op: str, value: str) -> Q:
        handler = getattr(self, "_" + name.replace(" ", "_"), None)
        if handler is None or name.startswith("_"):
            self.unknown(raw)
        return handler(op, value, raw)

    def _equality_only(self, op, raw):
        if op != "=":
            raise JqlError(f"The operator '{op}' is not supported by the '{raw}' field.")

    def _project(self, op, value, raw):
        self._equality_only(op, raw)
        return Q(project__key__iexact=value) | Q(project__name__iexact=value) | (
            Q(project_id=int(value)) if value.isdigit() else Q(pk__in=[]))

    def _issuetype(self, op, value, raw):
        self._equality_only(op, raw)
        if value.isdigit():
            return Q(issue_type_id=int(value))
        if value.lower() in ("standardissuetypes()", "subtaskissuetypes()"):
            return Q(issue_type__hierarchy_level=-1) if value.lower().startswith("sub") else Q(issue_type__hierarchy_level__gte=0)
        return Q(issue_type__name__iexact=value)

    def _key(self, op, value, raw):
        project_key, _, number = value.upper().rpartition("-")
        if not project_key or not number.isdigit():
            if value.isdigit():
                return self._id(op, value, raw)
            raise JqlError(f"The issue key '{value}' for field '{raw}' is invalid.")
        lookups = {"=": "", ">": "__gt", ">=": "__gte", "<": "__lt", "<=": "__lte"}
        if op not in lookups:
            raise JqlError(f"The operator '{op}' is not supported by the '{raw}' field.")
        return Q(project__key=project_key, **{"number" + lookups[op]: int(number)})

    def _id(self, op, value, raw):
        if not value.isdigit():
            return self._key(op, value, raw)
        lookups = {"=": "", ">": "__gt", ">=": "__gte", "<": "__lt", "<=": "__lte"}
        if op not in lookups:
            raise JqlError(f"The operator '{op}' is not supported by the '{raw}' field.")
        return Q(**{"id" + lookups[op]: int(value)})

    def _date(self, column, op, value, raw):
        lookups = {"=": "", ">": "__gt", ">=": "__gte", "<": "__lt", "<=": "__lte"}
        if op not in lookups:
            raise JqlError(f"The operator '{op}' is not supported by the '{raw}' field.")
        moment = self.moment(value, raw)
        if op == "=":
            return Q(**{f"{column}__gte": moment, f"{column}__lt": moment + timedelta(minutes=1)})
        return Q(**{column + lookups[op]: moment})

    def moment(self, value: str, raw: str) -> datetime:
        relative = re.fullmatch(r"([+-]?)(\d+)([wdhm])", value.strip())
        if relative:
            sign = -1 if relative.group(1) == "-" else 1
            unit = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}[relative.group(3)]
            return self.now + sign * timedelta(**{unit: int(relative.group(2))})
        lowered = value.lower()
        if lowered in ("now()",):
            return self.now
        if lowered in ("startofday()",):
            return self.now.replace(hour=0, minute=0, second=0, microsecond=0)
        for form in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
            try:
                return datetime.strptime(value.strip(), form).replace(tzinfo=UTC)
            except ValueError:
                continue
        raise JqlError(f"Date value '{value}' for field '{raw}' is invalid. Valid formats include: "
                       "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.")

    def _created(self, op, value, raw):
        return self._date("created", op, value, raw)

    def _updated(self, op, value, raw):
        return self._date("updated", op, value, raw)

    def _resolutiondate(self, op, value, raw):
        return self._date("resolutiondate", op, value, raw)

    _resolved = _resolutiondate

    def _component(self, op, value, raw):
        from apps.sandbox.jira.models import JiraComponent

        return self._holding_named(JiraComponent, "component_ids", op, value, raw)

    def _issues_holding(self, attribute: str, wanted: set[int] | None) -> list[int]:
        """Issues whose list of ids (components, versions: JSON, which SQLite cannot search) holds one of
        `wanted`; None: those whose list is empty."""
        from apps.sandbox.jira.models import JiraIssue

        rows = JiraIssue.objects.filter(site=self.site).values_list("pk", attribute)
        return [pk for pk, ids in rows if ((wanted & set(ids or [])) if wanted is not None else not ids)]

    def _holding_named(self, model, attribute, op, value, raw):
        """Issues holding the project component or version (`model`) named or numbered `value`."""
        self._equality_only(op, raw)
        wanted = {pk for pk, name in model.objects.filter(project__site=self.site).values_list("pk", "name")
                  if value == str(pk) or value.lower() == name.lower()}
        if not wanted:
            raise JqlError(f"The value '{value}' does not exist for the field '{raw}'.")
        return Q(pk__in=self._issues_holding(attribute, wanted))

    def _version(self, attribute, op, value, raw):
        from apps.sandbox.jira.models import JiraVersion

        return self._holding_named(JiraVersion, attribute, op, value, raw)

    def _fixversion(self, op, value, raw):
        return self._version(VERSION_CLAUSES["fixversion"], op, value, raw)

    def _affectedversion(self, op, value, raw):
        return self._version(VERSION_CLAUSES["affectedversion"], op, value, raw)

    def _labels(self, op, value, raw):
        self._equality_only(op, raw)
        return Q(labels_index__contains=f"|{value}|")

    def _status(self, op, value, raw):
        self._equality_only(op, raw)
        ids = [sid for sid, (name, _, _) in catalog.STATUSES.items() if value == sid or value.lower() == name.lower()]
        return Q(status_id__in=ids)

    def _statuscategory(self, op, value, raw):
        self._equality_only(op, raw)
        keys = [key for key, cat in catalog.STATUS_CATEGORIES.items()
                if value.lower() in (key, cat["name"].lower(), str(cat["id"]))]
        return Q(status_id__in=[sid for sid, (_, cat, _) in catalog.STATUSES.items() if cat in keys])

    def _resolution(self, op, value, raw):
        self._equality_only(op, raw)
        if value.lower() == "unresolved":
            return Q(resolution_id="")
        return Q(resolution_id=catalog.resolution_id_for(value) or "-")

    def _priority(self, op, value, raw):
        self._equality_only(op, raw)
        return Q(priority_id=catalog.priority_id_for(value) or "-")

    def _parent(self, op, value, raw):
        self._equality_only(op, raw)
        if value.isdigit():
            return Q(parent_id=int(value))
        return Q(parent__key__iexact=value)

    _epic_link = _parent

    def _person(self, column, op, value, raw):
        self._equality_only(op, raw)
        if value.lower() == "currentuser()":
            principal = getattr(self, "principal", {}) or {}
            value = principal.get("accountId") or principal.get("name") or ""
        return (Q(**{f"{column}__account_id": value}) | Q(**{f"{column}__name": value})
                | Q(**{f"{column}__email__iexact": value}))

    def _assignee(self, op, value, raw):
        return self._person("assignee", op, value, raw)

    def _reporter(self, op, value, raw):
        return self._person("reporter", op, value, raw)

    def _sprint(self, op, value, raw):
        self._equality_only(op, raw)
        functions = {"opensprints()": ["active", "future"], "closedsprints()": ["closed"], "futuresprints()": ["future"]}
        if value.lower() in functions:
            return Q(sprints__state__in=functions[value.lower()])
        if value.isdigit():
            return Q(sprints__id=int(value))
        return Q(sprints__name=value)

    def _summary(self, op, value, raw):
        if op != "~":
            raise JqlError(f"The operator '{op}' is not supported by the '{raw}' field.")
        return Q(summary__icontains=value.strip("*"))

    def _text(self, op, value, raw):
        return self._summary(op, value, raw)


def jql_parse(site, text: str | None, *, principal: dict | None = None) -> ParsedJql:
    parser = _Parser(site, text or "")
    parser.principal = principal
    return parser.parse()
