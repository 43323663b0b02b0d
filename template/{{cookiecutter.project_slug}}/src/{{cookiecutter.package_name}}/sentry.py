"""Error tracking with Sentry: unhandled exceptions (the 500s) and ERROR log lines are sent to
the project named by SENTRY_DSN, tagged with the tier and this version as the release.

Started by the entry points (wsgi.py in each Gunicorn worker, the task worker, the `flask`
command), never by create_app: sentry-sdk is one client per process, and the test suite makes an
app per test. Without SENTRY_DSN it logs one line and stays off. Nothing a client sent leaves the
process: no request body, query string, cookie or header (Authorization among them), no local
variables of the failing frames (which hold the body once it is parsed), no client address or
user id. 4xx answers and dependency outages (503s, logged as warnings) are not errors and are
not sent.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.types import Event, Hint

from . import project_version

DSN_ENV = "SENTRY_DSN"
logger = logging.getLogger(__name__)


def start(settings: Mapping[str, Any]) -> bool:
    """Start Sentry for this process when SENTRY_DSN is set; True when it is on."""
    dsn = os.environ.get(DSN_ENV, "").strip()
    if not dsn:
        logger.info("error tracking is off: set %s to send errors to Sentry", DSN_ENV)
        return False
    sentry_sdk.init(
        dsn=dsn,
        environment=settings["ENV_NAME"],
        release=project_version(),
        # send_default_pii keeps its default (off: no cookies, client addresses or user ids);
        # sentry-sdk 2.7x warns when it is passed at all.
        include_local_variables=False,
        max_request_body_size="never",
        before_send=request_line_only,
        # Performance tracing is the tracing option's job; Sentry takes errors only.
        traces_sample_rate=0.0,
        integrations=[FlaskIntegration(), LoggingIntegration(level=logging.INFO, event_level=logging.ERROR)],
    )
    return True


def request_line_only(event: Event, hint: Hint) -> Event:
    """What an event says about its request: the method and the URL without its query string."""
    request = event.get("request")
    if request:
        event["request"] = {key: request[key] for key in ("method", "url") if key in request}
    return event
