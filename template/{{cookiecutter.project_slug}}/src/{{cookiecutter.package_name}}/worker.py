"""The task worker: `{{ cookiecutter.project_slug }}-worker` (installed with the package).

The app is made inside main(), not at import, so importing this module has no side effects.
"""

from __future__ import annotations

import os

from . import create_app
from .config import CONFIG_ENV_VAR


def main() -> None:
    app = create_app(env=os.environ.get(CONFIG_ENV_VAR, "production"))
{%- if cookiecutter.task_queue == "celery" %}
    celery_app = app.extensions["celery"]
    celery_app.worker_main(["worker", "--loglevel=INFO", "--queues", app.config["TASK_QUEUE_NAME"]])
{%- else %}
    from rq import Worker

    from .tasks import get_queue

    # Jobs run inside this app's context (the work horse inherits it when RQ forks).
    with app.app_context():
        Worker([get_queue(app)], connection=app.extensions["redis"]).work()
{%- endif %}


if __name__ == "__main__":
    main()
