"""Locust users for the served-app benchmark (`bench/http_load.py` starts Locust with this file).

The scenario comes from `BENCH_SCENARIO`, the orders and log-ins from the JSON file in `BENCH_PLAN`:

- `bare`: GET /ping on a bare Litestar app (the baseline).
- `actions`: Accept order and Add tracking through the JSON API (bearer token), Resubmit order
  through the order page's htmx form (session cookie and CSRF header), each on an order no other
  request touches.
- `pages`: the dashboard's order list, every tab, and the order page, logged in.

Users wait `BENCH_THINK_MIN`–`BENCH_THINK_MAX` seconds between requests (0–0: back to back). Paced users
also start at a random moment of their first think time, as people already at work do: started all
at once, their first requests would arrive as one burst of 32 that no office produces.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import gevent
from locust import between, constant, task
from locust.contrib.fasthttp import FastHttpUser
from requests.cookies import create_cookie

SCENARIO = os.environ.get("BENCH_SCENARIO", "pages")
PLAN = json.loads(Path(os.environ["BENCH_PLAN"]).read_text(encoding="utf-8")) if os.environ.get("BENCH_PLAN") else {}
THINK = (float(os.environ.get("BENCH_THINK_MIN", "0")), float(os.environ.get("BENCH_THINK_MAX", "0")))
TABS = PLAN.get("tabs", [])
#: Orders still to act on, per action; each is used once (all users share this process). Each run of
#: the scenario takes its own share (`BENCH_SHARE` of `BENCH_SHARES`), so no run finds them changed.
_SHARE, _SHARES = int(os.environ.get("BENCH_SHARE", "0")), int(os.environ.get("BENCH_SHARES", "1"))
POOLS: dict[str, list[int]] = {name: ids[_SHARE::_SHARES] for name, ids in PLAN.get("orders", {}).items()}


def _think():
    return constant(0) if THINK[1] <= 0 else between(*THINK)


def _start_like_a_person_at_work() -> None:
    if THINK[1] > 0:
        gevent.sleep(random.uniform(0, THINK[1]))


class BareUser(FastHttpUser):
    wait_time = _think()

    def on_start(self) -> None:
        _start_like_a_person_at_work()

    @task
    def ping(self) -> None:
        self.client.get("/ping", name="bare Litestar GET /ping")


class LoggedInUser(FastHttpUser):
    """Uses the session the benchmark logged in with (a log-in hashes a password on purpose slowly, so
    the 32 users share one session rather than timing 32 log-ins), and its CSRF token for forms."""

    abstract = True
    wait_time = _think()

    def on_start(self) -> None:
        _start_like_a_person_at_work()
        for name, value in PLAN["cookies"].items():
            self.client.cookiejar.set_cookie(create_cookie(name, value, domain=PLAN["cookie_domain"]))
        self.csrf = PLAN["cookies"]["waybill_csrf"]


class ActionUser(LoggedInUser):
    @task
    def act(self) -> None:
        open_pools = [name for name, ids in POOLS.items() if ids]
        if not open_pools:
            self.stop()
            return
        action = random.choice(open_pools)
        order_id = POOLS[action].pop()
        getattr(self, action)(order_id)

    def accept(self, order_id: int) -> None:
        self.client.post(
            f"/api/v1/orders/{order_id}/accept",
            json={},
            headers={"authorization": f"Bearer {PLAN['token']}"},
            name="Accept order (API)",
        )

    def tracking(self, order_id: int) -> None:
        self.client.post(
            f"/api/v1/orders/{order_id}/shipments",
            json={"carrier_id": PLAN["carrier_id"], "tracking_number": f"{order_id:010d}"},
            headers={"authorization": f"Bearer {PLAN['token']}"},
            name="Add tracking (API)",
        )

    def resubmit(self, order_id: int) -> None:
        self.client.post(
            f"/orders/{order_id}/resubmit",
            data={"version": ""},
            headers={"x-csrftoken": self.csrf, "hx-request": "true"},
            name="Resubmit order (htmx form)",
        )


class PageUser(LoggedInUser):
    @task(len(TABS) or 1)
    def tab(self) -> None:
        tab = random.choice(TABS)
        self.client.get(f"/orders?tab={tab}", name=f"list: tab {tab}")

    @task
    def order_page(self) -> None:
        self.client.get(f"/orders/{random.choice(PLAN['order_pages'])}", name="order page /orders/{id}")


USERS = {"bare": BareUser, "actions": ActionUser, "pages": PageUser}
for _name, _cls in USERS.items():
    if _name != SCENARIO:
        _cls.abstract = True
del _name, _cls  # Locust runs every User class it finds in the module
