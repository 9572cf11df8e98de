"""The carriers page."""
