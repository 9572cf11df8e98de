"""Channels: their setup, the idempotent import of their orders, the outbox of messages to channels
and suppliers, connection issues, the channel's own payloads and status, and reconciliation.

May import `core`, `db`, `ports`, `accounts` (credentials), `orders` (imports create orders) and
`notifications`.
"""
