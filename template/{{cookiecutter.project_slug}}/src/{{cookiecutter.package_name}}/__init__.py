"""The application factory.

There is no module-level app: `create_app()` builds a fresh one each call (tests make one per
test); the entry points (wsgi.py for Gunicorn, cli.py for the `flask` command, and the task
worker when there is one) configure logging and then make the one they serve. Each module wires
itself into the app with its own `init_app(app)`, as in the Flask tutorial.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from apiflask import APIFlask
from flask import Response, g, request

from .config import CONFIG_ENV_VAR, check_production_config, settings_for
from .proxy import FromProxy

# A request id from the client (Nginx sets one) is echoed into logs and headers: plain short tokens only.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def project_version() -> str:
    """The installed distribution's version (openapi.json's info.version, the release in error reports)."""
    try:
        return version("{{ cookiecutter.project_slug }}")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


def create_app(config: Mapping[str, Any] | None = None, *, env: str | None = None) -> APIFlask:
    """Build the application.

    env picks the config tier (development, testing or production); without it the APP_ENV
    environment variable decides, else development. config overrides any setting (tests
    pass their own).
    """
    # Defaults of the tier and FLASK_* environment overrides (config.settings_for), then the
    # caller's mapping.
    settings = settings_for(env or os.environ.get(CONFIG_ENV_VAR, "development"))
    if config is not None:
        settings.from_mapping(config)
    # APIFlask is Flask plus the API contract: /openapi.json made from the routes' declared
    # schemas, request validation (422), and the docs UI at /docs where API_DOCS is on.
    app = APIFlask(
        __name__,
        title="{{ cookiecutter.project_name }}",
        version=project_version(),
        docs_path="/docs" if settings["API_DOCS"] else None,
        instance_path=os.path.abspath(settings["INSTANCE_PATH"]),
    )
    app.config.update(settings)
    if app.config["ENV_NAME"] == "production":
        # Refuse to start with a weak key, debug on or insecure cookies.
        check_production_config(app.config)
    # The client's address and scheme from the proxy's X-Forwarded-For/-Proto, when the request
    # comes from the proxy (FORWARDED_ALLOW_IPS); Flask checks the Host against TRUSTED_HOSTS.
    app.wsgi_app = FromProxy(app.wsgi_app, app.config["FORWARDED_ALLOW_IPS"])  # type: ignore[method-assign]

    @app.before_request
    def take_request_id() -> None:
        """The id on this request's log lines: the client's (Nginx's) when it is a plain token."""
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID.fullmatch(incoming) else secrets.token_hex(16)

    @app.after_request
    def send_request_id(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "-")
        return response
{%- if cookiecutter.metrics == "prometheus" %}

    from . import metrics

    metrics.init_app(app)  # first: it times and counts every request, errors included
{%- endif %}

    from . import contract, errors, health

    contract.init_app(app)
    errors.init_app(app)
{%- if cookiecutter.tracing == "opentelemetry" %}

    from . import tracing

    tracing.init_app(app)
{%- endif %}
    health.init_app(app)
{%- if cookiecutter.auth == "oidc" %}

    from . import auth

    auth.init_app(app)
{%- endif %}
{%- if cookiecutter.database != "none" %}

    from . import extensions, items

    extensions.init_app(app)
    items.init_app(app)
{%- endif %}
{%- if cookiecutter.task_queue != "none" %}

    # The task queue: slow work runs in a worker process, never in the request.
    from . import exports, queue_{{ cookiecutter.task_queue }}

    queue_{{ cookiecutter.task_queue }}.init_app(app)
    exports.init_app(app)
{%- endif %}
    return app


def create_entry_app(env: str) -> APIFlask:
    """The app an entry point (wsgi.py, cli.py, the task worker) serves in this process: logging
    configured first, then what the process needs before the app (tracing, so the database engine
    is traced), the app for the tier env, and what starts after it (error tracking, so a refused
    configuration stops with its one line first). Never called by create_app, which tests call
    once per test."""
    from . import logging{% if cookiecutter.error_tracking == "sentry" %}, sentry{% endif %}{% if cookiecutter.tracing == "opentelemetry" %}, tracing{% endif %}

    settings = settings_for(env)
    logging.configure(settings)
{%- if cookiecutter.tracing == "opentelemetry" %}
    tracing.start()
{%- endif %}
    app = create_app(env=env)
{%- if cookiecutter.error_tracking == "sentry" %}
    sentry.start(settings)
{%- endif %}
    return app
