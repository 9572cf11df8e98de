"""Channels' pages: add and edit them, connection issues, and reconciliation."""
