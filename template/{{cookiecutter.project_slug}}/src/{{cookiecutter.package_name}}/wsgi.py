"""The WSGI entry point Gunicorn serves: `gunicorn -c deploy/gunicorn.conf.py {{ cookiecutter.package_name }}.wsgi:app`.

This is the only module-level app, and it is always the production tier: development (debug on,
a throwaway key per process) and testing are for `flask run` and the test suite. An entry point:
logging is configured first, then the app is made.
"""

import os
import sys

from . import create_app, logging{% if cookiecutter.error_tracking == "sentry" %}, sentry{% endif %}{% if cookiecutter.tracing == "opentelemetry" %}, tracing{% endif %}
from .config import CONFIG_ENV_VAR, ConfigError, settings_for

# Gunicorn's "app failed to load" status (Arbiter.APP_LOAD_ERROR): when a worker exits with it,
# the master stops with the same status instead of respawning workers for ever, and systemd
# (RestartPreventExitStatus=4) leaves the unit failed instead of restarting it.
APP_LOAD_ERROR = 4

try:
    tier = os.environ.get(CONFIG_ENV_VAR, "production").strip().lower()
    if tier != "production":
        raise ConfigError(
            f"{CONFIG_ENV_VAR}={tier!r} under a WSGI server: wsgi.py serves production only; "
            f"unset {CONFIG_ENV_VAR} (use `flask run` for development)"
        )
    settings = settings_for("production")
    logging.configure(settings)
{%- if cookiecutter.tracing == "opentelemetry" %}
    tracing.start()
{%- endif %}
    app = create_app(env="production")
{%- if cookiecutter.error_tracking == "sentry" %}
    # After the app: a refused configuration stops here with its one line, before any other.
    sentry.start(settings)
{%- endif %}
except ConfigError as err:
    # One line for the operator instead of a traceback from every worker.
    print(f"error: {err}", file=sys.stderr, flush=True)
    raise SystemExit(APP_LOAD_ERROR) from None
