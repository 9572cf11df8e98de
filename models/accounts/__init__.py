"""Accounts: users, roles, passwords, log-in throttling and API tokens; and the channels' and suppliers'
credentials, encrypted at rest.

May import `core` and `db`.
"""
