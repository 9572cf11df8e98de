"""Orders: the lifecycle (allowed transitions), one change per transaction with a version check
(`change`), edits, acceptance and auto-accept, closing (delivered, returned, cancelled), audit events,
validation, the order list's queries and the menu's counts.

May import `core`, `db`, `ports`, `channels` (the outbox and connection issues a change writes),
`notifications` (new-order notices written with the change) and `suppliers.routing` (auto-accept).
"""
