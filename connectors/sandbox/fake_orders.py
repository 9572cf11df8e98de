"""Realistic order data for the demo and the sandboxes: European names with accents,
multi-line baskets, and a small share of orders with the mistakes real marketplaces send."""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import asdict

from models.ports import IncomingAddress, IncomingLine, IncomingOrder

FIRST_NAMES = [
    "Zoë", "Amélie", "Jürgen", "Björn", "Łukasz", "Inès", "François", "Søren", "Agnieszka", "Núria",
    "Mateo", "Chloé", "Đorđe", "Tomáš", "Anaïs", "Jiří", "Lucía", "Renée", "Oskar", "Marta",
    "Émile", "Giulia", "Héloïse", "Karel", "Ondřej", "Sofía", "Maëlle", "Andrés", "Ülle", "Noé",
]  # fmt: skip
LAST_NAMES = [
    "Müller", "Dvořák", "García", "Lefèvre", "Nowak", "Rossi", "Schröder", "Novák", "Fernández",
    "Dubois", "Kowalski", "Łęcka", "Bianchi", "Jäger", "Martínez", "Hořejší", "Moreau", "Østergaard",
    "Šimková", "O'Brien", "van der Berg", "Núñez", "Krämer", "Petit", "Svoboda", "Lambert",
]  # fmt: skip
ADDRESSES = {
    "FR": [("12 rue de la Paix", "75002", "Paris"), ("4 place Bellecour", "69002", "Lyon"),
           ("27 quai des Chartrons", "33000", "Bordeaux")],
    "DE": [("Friedrichstraße 43", "10117", "Berlin"), ("Königsallee 2", "40212", "Düsseldorf"),
           ("Marienplatz 8", "80331", "München")],
    "ES": [("Calle de Alcalá 21", "28014", "Madrid"), ("Passeig de Gràcia 92", "08008", "Barcelona")],
    "IT": [("Via del Corso 101", "00186", "Roma"), ("Corso Buenos Aires 33", "20124", "Milano")],
    "CZ": [("Václavské náměstí 19", "110 00", "Praha"), ("Masarykova 12", "602 00", "Brno")],
    "NL": [("Prinsengracht 263", "1016 GV", "Amsterdam")],
    "PL": [("ul. Nowy Świat 15", "00-029", "Warszawa")],
}  # fmt: skip
PRODUCTS = [
    ("BB-1001", "Stainless steel water bottle 750 ml", 1990),
    ("BB-1002", "Bamboo cutting board set", 2490),
    ("BB-2040", "Wireless earbuds, charging case", 3990),
    ("BB-3310", "Cotton bath towel 70×140, grey", 1450),
    ("SB-0007", "Yoga mat, non-slip, 6 mm", 2990),
    ("SB-0112", "LED desk lamp with USB-C", 3490),
    ("SB-0420", "Ceramic coffee mug “Bonjour”", 1190),
    ("BB-5005", "Children's rain jacket, size 116", 2790),
    ("SB-0999", "Cast-iron skillet 26 cm", 4490),
    ("BB-7777", "Scented candle, fig & cedar", 1590),
]  # fmt: skip
SHIPPING_RATES = ["Free shipping", "Standard", "Express"]


def fake_order(
    rng: random.Random,
    channel_order_id: str,
    placed_at: dt.datetime,
    currency: str = "EUR",
    defect_rate: float = 0.12,
) -> IncomingOrder:
    """One plausible order; with probability `defect_rate` it carries a typical data defect."""
    country = rng.choice(list(ADDRESSES))
    street, postcode, city = rng.choice(ADDRESSES[country])
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    lines = []
    for position, (sku, title, price) in enumerate(rng.sample(PRODUCTS, rng.choice([1, 1, 1, 2, 2, 3])), 1):
        lines.append(
            IncomingLine(position, sku, title, rng.choice([1, 1, 1, 2, 3]), price, f"{channel_order_id}-{position}")
        )
    address = IncomingAddress(
        first, last, "", street, "", postcode, city, "", country, f"+33 6 {rng.randint(10, 99)} 00 00 00"
    )
    if rng.random() < defect_rate:
        defect = rng.choice(["surname", "postcode", "postcode", "street"])
        if defect == "surname":
            address.last_name = ""
        elif defect == "postcode":
            address.postcode = rng.choice(["7500", "ABC12", "1234567"])
        else:
            address.street1 = ""
    order = IncomingOrder(
        channel_order_id=channel_order_id,
        placed_at=placed_at,
        lines=lines,
        delivery=address,
        customer_first_name=first,
        customer_last_name=address.last_name or last,
        customer_email=f"{first[0].lower()}.{rng.randint(100, 999)}@example.com",
        currency=currency,
        shipping_total=rng.choice([0, 0, 490, 690]),
        shipping_rate=rng.choice(SHIPPING_RATES),
        payment_method=rng.choice(["card"] * 5 + ["on_account"]),
    )
    order.raw = json.dumps(asdict(order), default=str, ensure_ascii=False)
    return order
