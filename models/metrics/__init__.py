"""Metrics: the fulfilment figures behind the Metrics page, for one channel or all, over a period.

May import `core`, `db` and `orders`.
"""
