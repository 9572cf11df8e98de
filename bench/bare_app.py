"""A bare Litestar app with one endpoint: the baseline of the served-app benchmark (`bench/http_load.py`)."""

from litestar import Litestar, get


@get("/ping", sync_to_thread=False)
def ping() -> str:
    return "pong"


app = Litestar(route_handlers=[ping])
