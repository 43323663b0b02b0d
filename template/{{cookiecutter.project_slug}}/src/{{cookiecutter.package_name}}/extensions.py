"""Extensions, created unbound; `init_app` binds them to an app (create_app calls it)."""

from __future__ import annotations

import os

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import inspect
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import DeclarativeBase

from . import {% if cookiecutter.database == "postgresql" %}deadlines, {% endif %}errors, health
from .config import ConfigError


class Base(DeclarativeBase):
    """Declarative base of every model (typed, so mypy checks the models)."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()


def init_app(app: Flask) -> None:
    """Bind the database to app. A database that is down or too slow is a 503 (errors.py), and
    /readyz checks it."""
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        try:
            os.makedirs(app.instance_path, exist_ok=True)
        except OSError as err:  # a start that cannot work: entry points exit with one line
            raise ConfigError(
                f"cannot create the instance folder {app.instance_path}: {err.strerror}; "
                "create it writable by this user or set FLASK_INSTANCE_PATH"
            ) from None
        db_path = os.path.join(app.instance_path, "{{ cookiecutter.package_name }}.sqlite")
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{db_path}"
{%- if cookiecutter.database == "postgresql" %}
    deadlines.init_app(app)
{%- endif %}
    db.init_app(app)
    migrate.init_app(app, db)
    for error in (OperationalError, PoolTimeoutError):
        app.register_error_handler(error, errors.handle_unavailable)
    health.add_check(app, "database", check_database)


def check_database() -> None:
    """Raise unless the database answers and holds every table of the models (migrated)."""
    missing = set(db.metadata.tables) - set(inspect(db.engine).get_table_names())
    if missing:
        raise LookupError(f"no table {', '.join(sorted(missing))}: run `flask db upgrade`")
