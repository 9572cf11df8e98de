"""The body type of every dashboard form post: the URL-encoded fields as a dict."""

from __future__ import annotations

from typing import Annotated, Any

from litestar.enums import RequestEncodingType
from litestar.params import Body

FORM = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
