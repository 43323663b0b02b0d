"""The task worker: the project's `-worker` command (pyproject.toml's [project.scripts]).

An entry point: logging is configured first, then the app is made, inside main(), so importing
this module has no side effects.
"""

from __future__ import annotations

import os

from . import create_entry_app
from .config import CONFIG_ENV_VAR
from .queue_{{ cookiecutter.task_queue }} import run_worker


def main() -> None:
    run_worker(create_entry_app(os.environ.get(CONFIG_ENV_VAR, "production")))


if __name__ == "__main__":
    main()
