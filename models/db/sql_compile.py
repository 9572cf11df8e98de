"""A faster `QueryString.compile_string` for Piccolo, installed once at import of `models.db`.

Piccolo turns every query into SQL by walking a tree of `QueryString`s and re-parsing each node's
template with `string.Formatter` on every call: 0.3–0.6 ms per query here, a third of the CPU of a
typical order action, which runs a dozen queries. The templates are few (column names, clauses,
operators), so their split is cached, and the tree is walked once without intermediate objects. The
result is exactly Piccolo's (tests/unit/test_sql_compile.py compares both on the app's queries).
"""

from __future__ import annotations

from functools import lru_cache
from string import Formatter
from typing import Any

from piccolo.querystring import QueryString

_original_compile_string = QueryString.compile_string


@lru_cache(maxsize=8192)
def _literals(template: str) -> tuple[str, ...]:
    """The literal text before each `{}` of a template (and after the last one)."""
    return tuple(literal for literal, *_ in Formatter().parse(template))


def compile_string(self: QueryString, engine_type: str = "postgres") -> tuple[str, list[Any]]:
    if self._frozen_compiled_strings is not None:
        return self._frozen_compiled_strings
    if engine_type in ("postgres", "cockroach"):
        numbered = True
    elif engine_type == "sqlite":
        numbered = False
    else:
        raise Exception("Engine type not recognised")
    parts: list[str] = []
    args: list[Any] = []

    def walk(node: QueryString) -> None:
        values = node.args
        count = len(values)
        for index, literal in enumerate(_literals(node.template)):
            parts.append(literal)
            if index < count:
                value = values[index]
                if isinstance(value, QueryString):
                    walk(value)
                else:
                    args.append(value)
                    parts.append(f"${len(args)}" if numbered else "?")

    walk(self)
    return "".join(parts), args


def install() -> None:
    QueryString.compile_string = compile_string  # type: ignore[method-assign]


def original_compile_string(query: QueryString, engine_type: str) -> tuple[str, list[Any]]:
    """Piccolo's own compilation, for comparison."""
    return _original_compile_string(query, engine_type=engine_type)
