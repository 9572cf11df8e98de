"""Fulfilment: shipments and tracking, carriers and their channel codes, and shipping mappings (a
channel's rate name → a supplier's method).

May import `core`, `db`, `ports` and `orders`.
"""
