"""A JQL subset for the Jira simulator: clauses joined by AND/OR/NOT and parentheses, then ORDER BY.

Operators: ``= != ~ !~ > >= < <= IN NOT IN IS IS NOT`` on the fields in ``Fields`` (text fields compare
case-insensitively; ``~`` is a substring match standing in for Jira's word search). Dates are
``"yyyy/MM/dd HH:mm"``, ``"yyyy-MM-dd HH:mm"`` or a bare day, in the searching user's time zone, compared at
minute precision like Jira. Anything outside the subset is a ``JqlError`` (the simulator answers 400, as Jira does
for JQL it cannot parse), never a silently wrong result.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

# A field's value(s) for one issue: strings (compared case-insensitively) or a datetime.
Getter = Callable[[Any], Any]

_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')|(?P<op>!=|>=|<=|!~|[=~<>(),])'
                    r"|(?P<word>[^\s\"'=!~<>(),]+))")
_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_ORDERABLE = {"updated", "created", "key", "id", "summary", "priority", "status"}


class JqlError(ValueError):
    """JQL the simulator cannot run; the message is Jira's wording where there is one."""


@dataclass(frozen=True)
class Query:
    matches: Callable[[Any], bool]
    order: list[tuple[str, bool]]  # (field, descending)


def parse(jql: str, fields: dict[str, Getter], zone: tzinfo) -> Query:
    """``fields`` maps lower-case field names (and aliases) to getters."""
    tokens = _tokenize(jql)
    parser = _Parser(tokens, fields, zone)
    matches = parser.or_expr() if tokens and not parser.at_word("order") else (lambda issue: True)
    order = parser.order_by()
    if parser.pos != len(tokens):
        raise JqlError(f"Error in the JQL Query: Expecting either 'OR' or 'AND' but got '{tokens[parser.pos][1]}'.")
    return Query(matches, order)


def _tokenize(jql: str) -> list[tuple[str, str]]:
    tokens, pos, text = [], 0, jql.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise JqlError(f"Error in the JQL Query: The character '{text[pos]}' is a reserved JQL character.")
        kind = match.lastgroup or "word"
        value = match[kind]
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append((kind, value))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: Sequence[tuple[str, str]], fields: dict[str, Getter], zone: tzinfo) -> None:
        self.tokens, self.fields, self.zone, self.pos = tokens, fields, zone, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def at_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "word" and token[1].lower() == word

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise JqlError("Error in the JQL Query: The JQL query ends unexpectedly.")
        self.pos += 1
        return token

    def expect(self, value: str) -> None:
        kind, got = self.take()
        if got.lower() != value:
            raise JqlError(f"Error in the JQL Query: Expecting '{value}' but got '{got}'.")

    def or_expr(self) -> Callable[[Any], bool]:
        parts = [self.and_expr()]
        while self.at_word("or"):
            self.pos += 1
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda issue: any(p(issue) for p in parts))

    def and_expr(self) -> Callable[[Any], bool]:
        parts = [self.term()]
        while self.at_word("and"):
            self.pos += 1
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else (lambda issue: all(p(issue) for p in parts))

    def term(self) -> Callable[[Any], bool]:
        if self.at_word("not"):
            self.pos += 1
            inner = self.term()
            return lambda issue: not inner(issue)
        if self.peek() == ("op", "("):
            self.pos += 1
            inner = self.or_expr()
            self.expect(")")
            return inner
        return self.clause()

    def clause(self) -> Callable[[Any], bool]:
        kind, name = self.take()
        getter = self.fields.get(name.lower())
        if kind == "op" or getter is None:
            raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
        op = self.operator()
        if op in ("is", "is not"):
            if not (self.at_word("empty") or self.at_word("null")):
                raise JqlError(f"Error in the JQL Query: Expecting 'EMPTY' or 'NULL' after '{op.upper()}'.")
            self.pos += 1
            empty = op == "is"
            return lambda issue: (_values(getter(issue)) == []) == empty
        if op in ("in", "not in"):
            self.expect("(")
            wanted = [self.value()]
            while self.peek() == ("op", ","):
                self.pos += 1
                wanted.append(self.value())
            self.expect(")")
            folded = {w.casefold() for w in wanted}
            inside = op == "in"
            return lambda issue: bool(folded & {v.casefold() for v in _values(getter(issue))}) == inside
        wanted_text = self.value()
        if op in (">", ">=", "<", "<="):
            return self._compare(name, getter, op, wanted_text)
        if op in ("~", "!~"):
            needle = wanted_text.casefold().strip("*")
            contains = op == "~"
            return lambda issue: any(needle in v.casefold() for v in _values(getter(issue))) == contains
        equal = op == "="
        return lambda issue: (wanted_text.casefold() in {v.casefold() for v in _values(getter(issue))}) == equal

    def operator(self) -> str:
        kind, value = self.take()
        lowered = value.lower()
        if kind == "op" and lowered in ("=", "!=", ">", ">=", "<", "<=", "~", "!~"):
            return lowered
        if kind == "word" and lowered in ("in", "is"):
            if self.at_word("not"):
                self.pos += 1
                return f"{lowered} not"
            return lowered
        if kind == "word" and lowered == "not" and self.at_word("in"):
            self.pos += 1
            return "not in"
        raise JqlError(f"Error in the JQL Query: Expecting operator but got '{value}'.")

    def value(self) -> str:
        kind, value = self.take()
        if kind == "op":
            raise JqlError(f"Error in the JQL Query: Expecting either a value, list or function but got '{value}'.")
        return value

    def _compare(self, name: str, getter: Getter, op: str, text: str) -> Callable[[Any], bool]:
        since = _date(text, self.zone)
        if since is None:
            raise JqlError(f"Date value '{text}' for field '{name}' is invalid. Valid formats include: "
                           "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd'.")

        def check(issue: Any) -> bool:
            value = getter(issue)
            if not isinstance(value, datetime):
                return False
            minute = value.replace(second=0, microsecond=0)
            return {">": minute > since, ">=": minute >= since, "<": minute < since, "<=": minute <= since}[op]

        return check

    def order_by(self) -> list[tuple[str, bool]]:
        if not self.at_word("order"):
            return []
        self.pos += 1
        if not self.at_word("by"):
            raise JqlError("Error in the JQL Query: Expecting 'BY' after 'ORDER'.")
        self.pos += 1
        order = []
        while True:
            _, name = self.take()
            if name.lower() not in _ORDERABLE:
                raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
            descending = False
            if self.at_word("asc") or self.at_word("desc"):
                descending = self.take()[1].lower() == "desc"
            order.append((name.lower(), descending))
            if self.peek() != ("op", ","):
                return order
            self.pos += 1


def _values(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple | set):
        return [str(v) for v in value if v not in (None, "")]
    return [str(value)]


def _date(text: str, zone: tzinfo) -> datetime | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=zone)
        except ValueError:
            continue
    return None
