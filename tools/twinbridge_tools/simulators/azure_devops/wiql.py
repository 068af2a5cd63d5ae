"""WIQL (``POST wit/wiql``): flat queries, WHERE comparisons joined by AND/OR with parentheses, @project, dates.

Field names resolve like the service resolves them: reference or friendly name, any case (``[system.changeddate]``,
``[Changed Date]``); an unknown name is a 400 with TF51005. Dates are stored at the precision the API returns
(milliseconds), so with ``timePrecision=true`` a literal copied from a returned value compares equal to it; without
it, dates compare by day and a time component is refused.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from twinbridge_tools.simulators.azure_devops import fields as field_table
from twinbridge_tools.simulators.azure_devops.model import (
    AdoError,
    AdoRequest,
    Item,
    Reply,
    SimUser,
    ado_date,
    parse_date,
)

if TYPE_CHECKING:
    from twinbridge_tools.simulators.azure_devops.simulator import AzureDevOpsSimulator

_TOKEN = re.compile(
    r"\s*(?:(?P<field>\[[^\]]+\])|(?P<string>'(?:[^']|'')*')|(?P<macro>@\w+)|(?P<op>>=|<=|<>|=|<|>)"
    r"|(?P<paren>[()])|(?P<word>[A-Za-z]+)|(?P<number>-?\d+(?:\.\d+)?))"
)
Predicate = Callable[[Item], bool]


def run(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    """Answer a WIQL query like ``POST {project}/_apis/wit/wiql?timePrecision=&$top=``."""
    project = sim.project_of(request, required=False)
    query = str((request.json() or {}).get("query") or "")
    precise = request.query.get("timePrecision", "").lower() == "true"
    resolve = functools.partial(_resolve, known=sim.field_names())
    select, where, order = _split(query)
    select, order = [resolve(name) for name in select], [(resolve(name), desc) for name, desc in order]
    predicate = _Parser(where, project, precise, resolve).parse() if where else (lambda item: True)
    visible = "browse" in request.user.permissions
    matches = [item for item in sim.items.values() if not item.deleted and visible and predicate(item)]
    for name, descending in reversed(order or [("System.Id", False)]):
        matches.sort(key=functools.partial(_sort_key, field=name), reverse=descending)
    top = request.query.get("$top")
    if top is None and len(matches) > sim.wiql_limit:
        raise AdoError(
            400,
            f"VS402337: The number of work items returned exceeds the size limit of "
            f"{sim.wiql_limit}. Change the query to return fewer work items.",
            "WorkItemTrackingQueryResultSizeLimitExceededException",
        )
    if top is not None:
        matches = matches[: min(int(top), sim.wiql_limit)]
    api = sim.api()

    def column(name: str) -> dict[str, str]:
        return {"referenceName": name, "name": field_table.friendly_name(name), "url": f"{api}/wit/fields/{name}"}

    return Reply(
        200,
        {
            "queryType": "flat",
            "queryResultType": "workItem",
            "asOf": ado_date(sim.now()),
            "columns": [column(name) for name in select],
            "sortColumns": [{"field": column(name), "descending": descending} for name, descending in order],
            "workItems": [{"id": item.id, "url": f"{api}/wit/workItems/{item.id}"} for item in matches],
        },
    )


def _resolve(name: str, known: set[str]) -> str:
    reference = field_table.resolve(name, known)
    if reference is None:
        raise AdoError(
            400,
            f"TF51005: The query references a field that does not exist. The error is caused by «[{name}]».",
            "WiqlFieldNotFoundException",
            "Microsoft.TeamFoundation.WorkItemTracking.Common.WiqlFieldNotFoundException, "
            "Microsoft.TeamFoundation.WorkItemTracking.Common",
        )
    return reference


def _split(query: str) -> tuple[list[str], str, list[tuple[str, bool]]]:
    match = re.fullmatch(
        r"\s*select\s+(?P<select>.+?)\s+from\s+workitems\b(?:\s+where\s+(?P<where>.+?))?"
        r"(?:\s+order\s+by\s+(?P<order>.+?))?\s*",
        query,
        re.IGNORECASE | re.DOTALL,
    )
    if not match:
        raise _syntax_error("Expecting SELECT ... FROM WorkItems [WHERE ...] [ORDER BY ...].")
    select = re.findall(r"\[([^\]]+)\]", match.group("select"))
    order = [
        (name, (direction or "asc").lower() == "desc")
        for name, direction in re.findall(r"\[([^\]]+)\]\s*(asc|desc)?", match.group("order") or "", re.IGNORECASE)
    ]
    return select, match.group("where") or "", order


def _syntax_error(message: str) -> AdoError:
    return AdoError(
        400,
        f"TF51006: The query statement is invalid. {message}",
        "WiqlSyntaxException",
        "Microsoft.TeamFoundation.WorkItemTracking.Common.WiqlSyntaxException, "
        "Microsoft.TeamFoundation.WorkItemTracking.Common",
    )


def _sort_key(item: Item, field: str) -> Any:
    value = item.id if field == "System.Id" else item.fields.get(field)
    if isinstance(value, SimUser):
        return (False, value.display_name.lower())
    return (value is None, value if not isinstance(value, str) else value.lower())


class _Parser:
    """A small recursive-descent evaluator of the WHERE clause."""

    def __init__(self, text: str, project: str | None, precise: bool, resolve: Callable[[str], str]) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text):
            match = _TOKEN.match(text, position)
            if not match or match.end() == position:
                if text[position:].strip():
                    raise _syntax_error(f"Unexpected text near '{text[position : position + 20]}'.")
                break
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.index, self.project, self.precise, self.resolve = 0, project, precise, resolve

    def parse(self) -> Predicate:
        predicate = self._or()
        if self.index != len(self.tokens):
            raise _syntax_error(f"Unexpected '{self.tokens[self.index][1]}'.")
        return predicate

    def _peek_word(self, word: str) -> bool:
        if self.index >= len(self.tokens):
            return False
        kind, text = self.tokens[self.index]
        return kind == "word" and text.lower() == word

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._peek_word("or"):
            self.index += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda item: any(p(item) for p in parts))

    def _and(self) -> Predicate:
        parts = [self._factor()]
        while self._peek_word("and"):
            self.index += 1
            parts.append(self._factor())
        return parts[0] if len(parts) == 1 else (lambda item: all(p(item) for p in parts))

    def _take(self) -> tuple[str, str]:
        if self.index >= len(self.tokens):
            raise _syntax_error("Unexpected end of query.")
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _factor(self) -> Predicate:
        kind, text = self._take()
        if (kind, text) == ("paren", "("):
            inner = self._or()
            if self._take() != ("paren", ")"):
                raise _syntax_error("Expecting ')'.")
            return inner
        if kind != "field":
            raise _syntax_error(f"Expecting a field reference, found '{text}'.")
        name = self.resolve(text[1:-1])
        op_kind, op = self._take()
        if op_kind != "op":
            raise _syntax_error(f"Expecting an operator after {text}.")
        value = self._value(name, *self._take())
        precise = self.precise
        return lambda item: _compare(_field_of(item, name, precise), op, value)

    def _value(self, name: str, kind: str, text: str) -> Any:
        if kind == "macro":
            if text.lower() != "@project":
                raise _syntax_error(f"The macro '{text}' is not supported by the simulator.")
            if self.project is None:
                raise _syntax_error("The @project macro can only be used in the context of a project.")
            return self.project.lower()
        if kind == "number":
            return float(text)
        if kind != "string":
            raise _syntax_error(f"Expecting a value, found '{text}'.")
        literal = text[1:-1].replace("''", "'")
        if name in field_table.DATE_FIELDS:
            try:
                when = parse_date(literal)
            except ValueError as exc:
                raise _syntax_error(f"The date '{literal}' is not valid.") from exc
            has_time = bool(re.search(r"\d[T ]\d", literal))
            if has_time and not self.precise:
                raise _syntax_error(
                    f"The date '{literal}' has a time component; pass timePrecision=true to compare times."
                )
            return when if self.precise else when.date()
        return literal.lower()


def _field_of(item: Item, name: str, precise: bool) -> Any:
    value = item.id if name == "System.Id" else item.fields.get(name)
    if isinstance(value, datetime):
        return value if precise else value.date()
    if isinstance(value, SimUser):
        return value.display_name.lower()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return str(value).lower() if value is not None else None


def _compare(left: Any, op: str, right: Any) -> bool:
    if left is None:
        return op == "<>"
    try:
        return {
            "=": left == right,
            "<>": left != right,
            ">": left > right,
            ">=": left >= right,
            "<": left < right,
            "<=": left <= right,
        }[op]
    except TypeError:
        return False
