"""The Inventory pages."""
