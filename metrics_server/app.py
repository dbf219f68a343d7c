"""The application factory: configuration in, a Flask app with every blueprint and the error envelope out."""
import logging
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from metrics_server import api, auth
from metrics_server.api import admission, security, selfmetrics
from metrics_server.api.errors import register_error_handlers
from metrics_server.config import load_config
from metrics_server.storage.chunk_cache import ChunkCache
from metrics_server.storage.dashboards import DashboardStore
from metrics_server.storage.db import Database
from metrics_server.storage.points import PointStore
from metrics_server.storage.registry import Registry
from metrics_server.storage.rollups import Rollups
from metrics_server.storage.usage import Usage


def create_app(config: dict[str, Any] | None = None, db: Database | None = None) -> Flask:
    """Build an app; Cassandra is connected on first use, so the app starts while it is down."""
    config = load_config() if config is None else config
    app = Flask(__name__)
    app.config.update(DEBUG=config["debug"], MAX_CONTENT_LENGTH=config["max_body_bytes"], METRICS_SERVER=config)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    db = db or Database(config)
    app.extensions["db"] = db
    app.extensions["registry"] = Registry(db)
    app.extensions["points"] = PointStore(db, app.extensions["registry"],
                                          cache=ChunkCache(config["chunk_cache_bytes"]))
    app.extensions["rollups"] = Rollups(db, app.extensions["registry"], app.extensions["points"])
    app.extensions["dashboards"] = DashboardStore(db)
    app.extensions["usage"] = Usage(db)
    logging.basicConfig(level=config["log_level"], format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    register_error_handlers(app)
    security.init_app(app)
    selfmetrics.init_app(app)
    auth.init_app(app)
    admission.init_app(app)  # after the guard: a write's budget is its principal's
    api.init_app(app)
    return app
