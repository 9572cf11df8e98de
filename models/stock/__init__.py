"""Stock: supplier stock in, offer quantities out (`sync`), pushes and their history, the catalogue and
its uploads, unknown SKUs, and the Inventory page's rows.

May import `core`, `db` and `channels` (connection issues).
"""
