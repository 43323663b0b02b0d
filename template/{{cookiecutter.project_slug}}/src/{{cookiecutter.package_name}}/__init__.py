"""{{ cookiecutter.project_name }}: the application factory.

There is no module-level app: `create_app()` builds a fresh one each call (tests make one per
test); `wsgi.py` makes the one Gunicorn serves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import CONFIG_ENV_VAR, check_production_config, config_for


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with too-deep nesting reported as invalid JSON (ValueError, so
    `request.get_json` answers 400) instead of a RecursionError that escapes as a 500."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def create_app(config: Mapping[str, Any] | None = None, *, env: str | None = None) -> Flask:
    """Build the application.

    env picks the config tier (development, testing or production); without it the APP_ENV
    environment variable decides, else development. config overrides any setting (tests
    pass their own).
    """
    app = Flask(__name__, instance_relative_config=True)

    # Defaults of the tier, then FLASK_* environment overrides, then the caller's mapping.
    tier = config_for(env or os.environ.get(CONFIG_ENV_VAR, "development"))
    app.config.from_object(tier)
    app.config.from_prefixed_env()
{%- if cookiecutter.database != "none" or cookiecutter.task_queue != "none" %}
    _apply_service_urls(app)
{%- endif %}
    if config is not None:
        app.config.from_mapping(config)
    if app.config["ENV_NAME"] == "production":
        # Refuse to start with a weak key, debug on or insecure cookies.
        check_production_config(app.config)

    # Exactly one trusted proxy hop (Nginx) in production: X-Forwarded-For/Proto from it only.
    hops = int(app.config["PROXY_FIX_HOPS"])
    if hops:
        # Never X-Forwarded-Host: the Host header is Nginx's (the server_name it matched), and a
        # client's X-Forwarded-Host would otherwise name the host of every URL the app builds.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    # JSON nested past the recursion limit is a 400, like any other malformed body.
    app.json = BoundedJSONProvider(app)

    # Logging first, so everything below logs through the queue.
    from .logging import configure_logging, init_request_id

    configure_logging(app)
    init_request_id(app)
{%- if cookiecutter.database != "none" %}

    # Bind the extensions created unbound in extensions.py.
    from .extensions import db, migrate

    os.makedirs(app.instance_path, exist_ok=True)
{%- if cookiecutter.database == "postgresql" %}
    from . import deadlines

    deadlines.configure(app)
{%- endif %}
    db.init_app(app)
    migrate.init_app(app, db)
{%- if cookiecutter.database == "postgresql" %}
    deadlines.init_app(app)
{%- endif %}
{%- endif %}
{%- if cookiecutter.task_queue != "none" %}

    # The task queue: slow work runs in a worker process, never in the request.
    from .tasks import init_task_queue

    init_task_queue(app)
{%- endif %}

    # Blueprints and error handlers.
    from . import errors, health

    errors.register(app)
    health.init_app(app)
{%- if cookiecutter.database != "none" %}
    from . import items

    app.register_blueprint(items.bp)
{%- endif %}
{%- if cookiecutter.task_queue != "none" %}
    from . import tasks

    app.register_blueprint(tasks.bp)
{%- endif %}
    return app
{%- if cookiecutter.database != "none" or cookiecutter.task_queue != "none" %}


def _apply_service_urls(app: Flask) -> None:
    """The conventional DATABASE_URL / REDIS_URL variables, when set, name the real services."""
{%- if cookiecutter.database != "none" %}
    database_url = os.environ.get("DATABASE_URL")
    if database_url:
        app.config["SQLALCHEMY_DATABASE_URI"] = database_url
    elif not app.config.get("SQLALCHEMY_DATABASE_URI"):
{%- if cookiecutter.database == "sqlite" %}
        db_path = os.path.join(app.instance_path, "{{ cookiecutter.package_name }}.sqlite")
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{db_path}"
{%- else %}
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DEFAULT_DATABASE_URL"]
{%- endif %}
{%- endif %}
{%- if cookiecutter.task_queue != "none" %}
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        app.config["REDIS_URL"] = redis_url
{%- endif %}
{%- endif %}
