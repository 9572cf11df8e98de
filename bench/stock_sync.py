"""Stock sync benchmark: 50,000 SKUs across 3 channels, a full sync and a sync where 1 % changed.

    uv run python -m bench.stock_sync                          # SQLite in a temporary folder
    uv run python -m bench.stock_sync --skus 10000 --kinds mirakl,backmarket,mall
    uv run python -m bench.stock_sync --database postgres://user:pass@host/empty_db

One BigBuy supplier carries every SKU; the channels (by default three Mirakl shops, whose OF24 takes
1,000 offers per call) hold an offer for each. The sandboxes run in this process and are reached over
httpx's ASGI transport, so the figures are Waybill's work plus the emulators', without a network.

Phases, each timed:

- **full sync**: the supplier's stock read (50 pages), 50,000 stock rows written, 150,000 offers planned
  and queued, every push delivered through the outbox.
- **1 % changed**: the stock of 500 SKUs changes at the supplier; the same sync sends only those 1,500 offers
  (checked against the sandboxes' update counters).
- baselines in the same run: **nothing changed** (the floor: reading and comparing everything, sending
  nothing) and **push everything again** (what a sync without the diff would send every time).

It prints figures and asserts only that exactly the changed offers were sent.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import httpx
from litestar import Litestar

from connectors.sandbox import backmarket, bigbuy, mall, mirakl
from connectors.sandbox.bigbuy import Product
from connectors.sandbox.common import Sandbox
from jobs.dispatcher import dispatch_due
from jobs.stock_jobs import batch_sizes, sync_stock
from models import db
from models.accounts import credentials
from models.core.clock import now
from models.db.migrate import migrate
from models.db.tables import CatalogItem, Channel, Supplier
from models.stock.sync import plan_offers

SECRETS = {
    "mirakl": {"api_key": mirakl.DEFAULT_API_KEY},
    "backmarket": {"token": backmarket.DEFAULT_TOKEN},
    "mall": {"client_id": mall.DEFAULT_CLIENT_ID},
}
SANDBOXES = {"mirakl": mirakl.MiraklSandbox, "backmarket": backmarket.BackMarketSandbox, "mall": mall.MallSandbox}


def log(message: str) -> None:
    print(message, flush=True)


async def world(skus: int, kinds: list[str]) -> tuple[httpx.AsyncClient, bigbuy.BigBuySandbox, list[Sandbox]]:
    supplier_box = bigbuy.BigBuySandbox(seed=1, catalog={})
    rng = random.Random(7)
    names = [f"SKU-{n:06d}" for n in range(skus)]
    for n, sku in enumerate(names):
        supplier_box.catalog[sku] = Product(1_000_000 + n, sku, "Item", Decimal("5.00"), rng.randint(0, 60))
    channel_boxes: list[Sandbox] = []
    for index, kind in enumerate(kinds):
        box = SANDBOXES[kind](seed=index)
        box.name = f"{kind}{index}"  # each channel its own marketplace
        for sku in names:
            box.offers.put(sku, 0)
        channel_boxes.append(box)
    app = Litestar(route_handlers=[b.router() for b in [supplier_box, *channel_boxes]], openapi_config=None)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=60)
    base = "http://sandbox/sandbox"
    stamp = now()
    rows = await Supplier.insert(
        Supplier(
            name="BigBuy",
            kind="bigbuy",
            base_url=f"{base}/bigbuy",
            credentials=credentials.encrypt({"api_key": bigbuy.DEFAULT_API_KEY}),
            prepaid=True,
            created_at=stamp,
        )
    ).returning(Supplier.id)
    await db.insert_chunked(
        [CatalogItem(channel_sku=s, supplier=rows[0]["id"], supplier_sku=s, updated_at=stamp) for s in names]
    )
    for index, kind in enumerate(kinds):
        await Channel.insert(
            Channel(
                name=f"{kind} shop {index}",
                kind=kind,
                base_url=f"{base}/{kind}{index}",
                credentials=credentials.encrypt(SECRETS[kind]),
                stock_sync=True,
                created_at=stamp,
            )
        )
    return client, supplier_box, channel_boxes


async def deliver_all(client: httpx.AsyncClient) -> None:
    while await dispatch_due(client, limit=50):
        pass


def updates(boxes: list[Sandbox]) -> int:
    return sum(offer.updates for box in boxes for offer in box.offers.offers.values())


async def timed(label: str, client: httpx.AsyncClient, boxes: list[Sandbox], work) -> tuple[float, int]:
    before = updates(boxes)
    started = time.perf_counter()
    planned = await work()
    queued = time.perf_counter()
    await deliver_all(client)
    done = time.perf_counter()
    sent = updates(boxes) - before
    log(
        f"| {label} | {planned.changed:,} | {sent:,} | {(queued - started):.2f} | {(done - queued):.2f} | "
        f"{(done - started):.2f} |"
    )
    return done - started, sent


async def run(args: argparse.Namespace) -> None:
    kinds = args.kinds.split(",")
    folder = Path(tempfile.mkdtemp(prefix="waybill-stock-bench-"))
    url = args.database or f"sqlite:///{folder / 'bench.sqlite3'}"
    engine = db.engine_for(url)
    await migrate(engine)
    for noisy in ("httpx", "jobs", "models"):  # every request and sync would be logged otherwise
        logging.getLogger(noisy).setLevel(logging.WARNING)
    db.bind(engine)
    credentials.configure("bench-secret-key-" + "x" * 32)
    await db.start_pool()
    try:
        client, supplier_box, boxes = await world(args.skus, kinds)
        offers = args.skus * len(kinds)
        backend = url.split(":")[0]
        log(f"\n{args.skus:,} SKUs × {len(kinds)} channels ({', '.join(kinds)}) = {offers:,} offers, {backend}")
        log(f"batch sizes: {', '.join(f'{k} {v}' for k, v in batch_sizes().items() if k in kinds)}\n")
        log("| sync | offers queued | offers sent | read + plan s | push s | total s |")
        log("|---|---:|---:|---:|---:|---:|")

        async def sync():
            return (await sync_stock(client)).plan

        await timed("full sync (first)", client, boxes, sync)
        await timed("baseline: nothing changed", client, boxes, sync)
        rng = random.Random(11)
        changed = rng.sample(sorted(supplier_box.catalog), args.skus // 100)
        for sku in changed:
            supplier_box.catalog[sku].stock += rng.randint(1, 9)
        _, sent = await timed("1 % changed", client, boxes, sync)
        assert sent == len(changed) * len(kinds), f"sent {sent}, expected {len(changed) * len(kinds)}"

        async def force_all():
            return await plan_offers(batch_sizes=batch_sizes(), force=True)

        await timed("baseline: push everything again", client, boxes, force_all)
    finally:
        await db.close_pool()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skus", type=int, default=50_000)
    parser.add_argument("--kinds", default="mirakl,mirakl,mirakl", help="channel kinds, comma-separated")
    parser.add_argument("--database", default="", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger().setLevel(logging.WARNING)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
