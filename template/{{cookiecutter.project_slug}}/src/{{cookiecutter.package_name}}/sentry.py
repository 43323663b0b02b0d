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
from sentry_sdk.types import Event, Hint

from . import project_version

DSN_ENV = "SENTRY_DSN"


def start(settings: Mapping[str, Any]) -> bool:
    """Start Sentry for this process when SENTRY_DSN is set (sentry-sdk reads it); True when it
    is on. sentry-sdk's defaults do the rest: its Flask integration reports unhandled exceptions,
    its logging integration ERROR lines (lower ones are breadcrumbs), without performance tracing
    (the tracing option's job) and without cookies, client addresses, user ids or sensitive
    headers (send_default_pii is off)."""
    if not os.environ.get(DSN_ENV, "").strip():
        logging.getLogger(__name__).info("error tracking is off: set %s to send errors to Sentry", DSN_ENV)
        return False
    sentry_sdk.init(
        environment=settings["ENV_NAME"],
        release=project_version(),
        include_local_variables=False,  # the failing frames' locals hold the request's parsed body
        before_send=request_line_only,
    )
    return True


def request_line_only(event: Event, hint: Hint) -> Event:
    """What an event says about its request: the method and the URL without its query string
    (not the body, the query string, the cookies or any header)."""
    request = event.get("request")
    if request:
        event["request"] = {key: request[key] for key in ("method", "url") if key in request}
    return event
