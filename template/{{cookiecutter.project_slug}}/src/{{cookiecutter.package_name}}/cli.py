"""The app of the `flask` command (`flask run`, `flask db upgrade`, `flask routes`):
FLASK_APP={{ cookiecutter.package_name }}.cli, set in .flaskenv.

An entry point: logging is configured first, then the app is made for the APP_ENV tier
(development when unset).
"""

from __future__ import annotations

import os

from flask import Flask

from . import create_app as create_web_app
from . import logging{% if cookiecutter.error_tracking == "sentry" %}, sentry{% endif %}{% if cookiecutter.tracing == "opentelemetry" %}, tracing{% endif %}
from .config import CONFIG_ENV_VAR, settings_for


def create_app() -> Flask:
    """The factory `flask` finds in this module."""
    env = os.environ.get(CONFIG_ENV_VAR, "development")
    settings = settings_for(env)
    logging.configure(settings)
{%- if cookiecutter.tracing == "opentelemetry" %}
    tracing.start()
{%- endif %}
    app = create_web_app(env=env)
{%- if cookiecutter.error_tracking == "sentry" %}
    sentry.start(settings)
{%- endif %}
    return app
