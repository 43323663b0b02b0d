"""{{ cookiecutter.project_name }}: the application factory.

There is no module-level app: `create_app()` builds a fresh one each call (tests make one per
test); the entry points (`wsgi.py` for Gunicorn, `cli.py` for the `flask` command{% if cookiecutter.task_queue != "none" %}, `worker.py`{% endif %})
configure logging and then make the one they serve. Each module wires itself into the app with
its own `init_app(app)`, as in the Flask tutorial.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from apiflask import APIFlask
from flask import Flask, Request, Response
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

from .config import CONFIG_ENV_VAR, check_production_config, settings_for
from .proxy import ProxyHeaders


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with too-deep nesting reported as invalid JSON (ValueError, so
    `request.get_json` answers 400) instead of a RecursionError that escapes as a 500."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, but a request that carries no session cookie (every API
    call) gets an empty session without Flask first building the itsdangerous signer it would not
    use: the largest per-request cost of an app that never touches the session. A request with no
    Cookie header at all is answered without parsing one (werkzeug builds the cookie dict first)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and (
            "HTTP_COOKIE" not in request.environ or not request.cookies.get(self.get_cookie_name(app))
        ):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not session and not session.modified and not session.accessed:
            return  # nothing to set, delete or vary on: Flask would read seven cookie settings first
        super().save_session(app, session, response)


class ServiceApp(APIFlask):
    """APIFlask that remembers which functions are plain `def`s. Flask passes the view and every
    hook through ensure_sync on each request (four times for a plain GET here), which asks
    inspect.iscoroutinefunction each time; the answer for a function never changes. An `async def`
    view is still wrapped (or refused without Flask's async extra) on every call, as by Flask."""

    # A class-based view hands ensure_sync a new bound method per request: remembered by its
    # function (__func__), and never more than this many, so the set cannot grow with traffic.
    MAX_SYNC_FUNCTIONS = 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sync_functions: set[Callable[..., Any]] = set()
        super().__init__(*args, **kwargs)

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        key = getattr(func, "__func__", func)
        try:
            if key in self.sync_functions:
                return func
        except TypeError:  # an unhashable callable: ask every time
            return super().ensure_sync(func)
        checked = super().ensure_sync(func)
        if checked is func and len(self.sync_functions) < self.MAX_SYNC_FUNCTIONS:
            self.sync_functions.add(key)
        return checked


def project_version() -> str:
    """The installed distribution's version (openapi.json's info.version{% if cookiecutter.error_tracking == "sentry" %}, Sentry's release{% endif %})."""
    try:
        return version("{{ cookiecutter.project_slug }}")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


def create_app(config: Mapping[str, Any] | None = None, *, env: str | None = None) -> ServiceApp:
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
    app = ServiceApp(
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

    # Exactly one trusted proxy hop (Nginx) in production: X-Forwarded-For/Proto from it only,
    # never X-Forwarded-Host (proxy.py).
    hops = int(app.config["PROXY_FIX_HOPS"])
    if hops:
        app.wsgi_app = ProxyHeaders(app.wsgi_app, hops)  # type: ignore[method-assign]
    # JSON nested past the recursion limit is a 400, like any other malformed body.
    app.json = BoundedJSONProvider(app)
    app.session_interface = CookieSessions()

    from . import contract, errors, health, logging

    logging.init_app(app)
    contract.init_app(app)
    errors.init_app(app)
{%- if cookiecutter.tracing == "opentelemetry" %}

    from . import tracing

    tracing.init_app(app)
{%- endif %}
{%- if cookiecutter.metrics == "prometheus" %}

    from . import metrics

    metrics.init_app(app)  # it times and counts every request, errors included
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


def create_entry_app(env: str) -> ServiceApp:
    """The app an entry point (wsgi.py, cli.py, worker.py) serves in this process: logging
    configured first{% if cookiecutter.tracing == "opentelemetry" %}, tracing started before the app (so its database engine is traced){% endif %}, then
    the app for the tier env{% if cookiecutter.error_tracking == "sentry" %}, then Sentry (after the app: a refused configuration stops with its one line,
    before any other){% endif %}. Never called by create_app, which tests call once per test."""
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
