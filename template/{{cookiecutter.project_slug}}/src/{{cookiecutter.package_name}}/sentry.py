"""Error tracking with Sentry: unhandled exceptions (the 500s) and ERROR log lines are sent to
the project named by SENTRY_DSN, tagged with the tier and this version as the release.

Started by the entry points (wsgi.py in each Gunicorn worker, the task worker, the `flask`
command), never by create_app: sentry-sdk is one client per process, and the test suite makes an
app per test. Without SENTRY_DSN it logs one line and stays off. send_default_pii stays off: no
cookies, user ids or client addresses leave the service; 4xx answers and dependency outages
(503s, logged as warnings) are not errors and are not sent.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.integrations.logging import LoggingIntegration

from . import project_version

DSN_ENV = "SENTRY_DSN"
logger = logging.getLogger(__name__)


def start(settings: Mapping[str, Any], *, transport: Any = None) -> bool:
    """Start Sentry for this process when SENTRY_DSN is set; True when it is on. transport
    replaces the HTTP one (tests)."""
    dsn = os.environ.get(DSN_ENV, "").strip()
    if not dsn:
        logger.info("error tracking is off: set %s to send errors to Sentry", DSN_ENV)
        return False
    sentry_sdk.init(
        dsn=dsn,
        environment=settings["ENV_NAME"],
        release=project_version(),
        # No personal data (cookies, credentials, client addresses, user ids): sentry-sdk's default,
        # send_default_pii off. Not passed explicitly: sentry-sdk 2.7x deprecates the flag, and its
        # successor, data_collection, collects most categories once it is given at all.
        # Performance tracing is the tracing option's job; Sentry takes errors only.
        traces_sample_rate=0.0,
        integrations=[FlaskIntegration(), LoggingIntegration(level=logging.INFO, event_level=logging.ERROR)],
        transport=transport,
    )
    return True
