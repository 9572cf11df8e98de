"""Piccolo's configuration, used by its migration runner (`waybill migrate`)."""

from piccolo.conf.apps import AppRegistry

from models.db import database_url_from_env, engine_for

DB = engine_for(database_url_from_env())

APP_REGISTRY = AppRegistry(apps=["models.db.piccolo_app"])
