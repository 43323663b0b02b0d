"""The WSGI entry point Gunicorn serves: `gunicorn -c deploy/gunicorn.conf.py {{ cookiecutter.package_name }}.wsgi:app`.

This is the only module-level app, and it is always the production tier: development (debug on,
a throwaway key per process) and testing are for `flask run` and the test suite. An entry point:
logging is configured first, then the app is made.
"""

import os
import sys

from . import create_entry_app
from .config import CONFIG_ENV_VAR, ConfigError

# Gunicorn's "app failed to load" status (Arbiter.APP_LOAD_ERROR): when a worker exits with it,
# the master stops with the same status instead of respawning workers for ever, and systemd
# (RestartPreventExitStatus=4) leaves the unit failed instead of restarting it.
APP_LOAD_ERROR = 4

try:
    tier = os.environ.get(CONFIG_ENV_VAR, "production")
    if tier != "production":
        raise ConfigError(
            f"{CONFIG_ENV_VAR}={tier!r} under a WSGI server: wsgi.py serves production only; "
            f"unset {CONFIG_ENV_VAR} (use `flask run` for development)"
        )
    app = create_entry_app("production")
except ConfigError as err:
    # One line for the operator instead of a traceback from every worker.
    print(f"error: {err}", file=sys.stderr, flush=True)
    raise SystemExit(APP_LOAD_ERROR) from None
