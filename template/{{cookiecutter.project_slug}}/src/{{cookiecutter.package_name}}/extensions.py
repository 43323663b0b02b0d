"""Extensions, created unbound; `create_app` binds them with `init_app`."""

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base of every model (typed, so mypy checks the models)."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
