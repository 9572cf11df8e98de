"""Waybill's domain: tables, lifecycle, validation and operations. Never imports web code."""

import os

os.environ.setdefault("PICCOLO_CONF", "models.db.piccolo_conf")
