"""Notifications: who is told that new orders wait, the in-app inbox, the text of the messages and the
mail queue.

May import `core`, `db`, `accounts`, `channels` (the outbox's backoff) and `orders` (statuses).
"""
