"""The Metrics page: fulfilment and cancel rates, rejection reasons, times to accept and ship, late shipments."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.response import Template

from models.metrics.figures import channel_scopes, compute_metrics
from web.metrics.filters import PRESETS, parse_metrics_filter
from web.metrics.view import build_charts, headline
from web.pages import current_timezone, fragment, is_htmx, render


class MetricsController(Controller):
    path = "/metrics"
    include_in_schema = False

    @get("/")
    async def metrics_page(self, request: Request) -> Template:
        tz = await current_timezone()
        channels = await channel_scopes()
        flt = parse_metrics_filter(dict(request.query_params), tz, {c.id for c in channels})
        metrics = await compute_metrics(flt.period, flt.channel_id)
        context = {
            "flt": flt,
            "presets": PRESETS,
            "channels": channels,
            "metrics": metrics,
            "figures": headline(metrics),
            "charts": build_charts(metrics),
        }
        if is_htmx(request) and request.headers.get("hx-target") == "metrics-body":
            return await fragment(request, "metrics/_body.html", **context)
        return await render(request, "metrics/page.html", nav="metrics", **context)
