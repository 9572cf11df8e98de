"""The body of every JSON API refusal, as the app's error handlers write it (`web/app.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.datastructures import ResponseSpec


@dataclass
class ApiError:
    status_code: int
    #: Why nothing was done, and what to do instead.
    detail: str
    #: For input that was refused: field → what to fix.
    errors: dict[str, str] | None = None


#: The refusals every API operation can answer; operations add or refine their own.
REFUSALS: dict[int, ResponseSpec] = {
    401: ResponseSpec(ApiError, description="No valid API token: send `Authorization: Bearer <token>`."),
    403: ResponseSpec(ApiError, description="The token's user may read orders but not change them."),
    404: ResponseSpec(ApiError, description="No such order (or line, or parcel)."),
}
#: What an operation that changes an order can answer besides.
CHANGE_REFUSALS: dict[int, ResponseSpec] = {
    **REFUSALS,
    409: ResponseSpec(ApiError, description="The order changed since `version`; nothing was done."),
    422: ResponseSpec(
        ApiError, description="Not possible now, or input refused (`errors` by field); nothing was done."
    ),
}
