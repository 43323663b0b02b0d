"""The task worker: `{{ cookiecutter.project_slug }}-worker` (installed with the package).

An entry point: logging is configured first, then the app is made, inside main(), so importing
this module has no side effects.
"""

from __future__ import annotations

import os

from . import create_app, logging{% if cookiecutter.error_tracking == "sentry" %}, sentry{% endif %}{% if cookiecutter.tracing == "opentelemetry" %}, tracing{% endif %}
from .config import CONFIG_ENV_VAR, settings_for
from .queue_{{ cookiecutter.task_queue }} import run_worker


def main() -> None:
    env = os.environ.get(CONFIG_ENV_VAR, "production")
    settings = settings_for(env)
    logging.configure(settings)
{%- if cookiecutter.tracing == "opentelemetry" %}
    tracing.start()
{%- endif %}
    app = create_app(env=env)
{%- if cookiecutter.error_tracking == "sentry" %}
    sentry.start(settings)
{%- endif %}
    run_worker(app)


if __name__ == "__main__":
    main()
