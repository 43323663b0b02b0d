"""The WSGI entry point Gunicorn serves: `gunicorn -c deploy/gunicorn.conf.py {{ cookiecutter.package_name }}.wsgi:app`.

This is the only module-level app; the tier defaults to production here.
"""

import os

from . import create_app
from .config import CONFIG_ENV_VAR, ConfigError

try:
    app = create_app(env=os.environ.get(CONFIG_ENV_VAR, "production"))
except ConfigError as err:
    # One line for the operator instead of a traceback from every worker.
    raise SystemExit(f"error: {err}") from None
