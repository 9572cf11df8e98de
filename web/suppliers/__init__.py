"""Suppliers' pages: add and edit them, catalogue uploads, shipping mappings and resubmit runs."""
