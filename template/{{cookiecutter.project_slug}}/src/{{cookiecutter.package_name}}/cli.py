"""The app of the `flask` command (`flask run`, `flask db upgrade`, `flask routes`):
FLASK_APP={{ cookiecutter.package_name }}.cli, set in .flaskenv.

An entry point: logging is configured first, then the app is made for the APP_ENV tier
(development when unset).
"""

from __future__ import annotations

import os
import sys

from flask import Flask

from . import create_entry_app
from .config import CONFIG_ENV_VAR, ConfigError


def create_app() -> Flask:
    """The factory `flask` finds in this module; a refused configuration is one line, exit 1."""
    try:
        return create_entry_app(os.environ.get(CONFIG_ENV_VAR, "development"))
    except ConfigError as err:
        sys.exit(f"error: {err}")
