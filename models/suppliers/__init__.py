"""Suppliers: their setup and wallet, routing an order's lines to them, dispatch through the outbox,
what a supplier answered (`outcomes`), orders sent manually, and resubmitting many orders at once.

May import `core`, `db`, `ports`, `accounts` (credentials), `channels` (outbox, connection issues) and
`orders`.
"""
