"""Bounds of the JSON API's numbers, declared in the OpenAPI schema and enforced on input.

Ids, versions and quantities are 32-bit integers in the database: a larger number can name no row and
would fail in the database driver, so it is refused as bad input (400) before any query runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar.openapi.spec import Operation
from litestar.params import Parameter
from msgspec import Meta

from models.core.bounds import MAX_INT

#: A row id in a path or a body. `Parameter` puts the bounds in the schema, `Meta` enforces them in bodies.
RowId = Annotated[int, Parameter(ge=1, le=MAX_INT), Meta(ge=1, le=MAX_INT)]
#: A quantity of items. (The schema's minimum is spelled out: Litestar leaves a bound of 0 out.)
Quantity = Annotated[int, Parameter(le=MAX_INT, schema_extra={"minimum": 0}), Meta(ge=0, le=MAX_INT)]
VERSION_HELP = "Optional: the order `version` you last read; if the order changed since, nothing is done (409)."
#: The order version a change is based on (optional).
Version = Annotated[
    Annotated[int, Meta(ge=0, le=MAX_INT)] | None,
    Parameter(le=MAX_INT, description=VERSION_HELP, schema_extra={"minimum": 0}),
]


@dataclass
class OptionalBody(Operation):
    """`operation_class` of an endpoint whose body may be left out: Litestar marks every body required."""

    def __post_init__(self) -> None:
        if self.request_body is not None:
            self.request_body.required = False
