"""Prometheus metrics: requests counted and timed by endpoint, method and status.

Under Gunicorn every worker is a process of its own, so the numbers are kept in prometheus_client's
multiprocess mode: deploy/gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR (emptied when Gunicorn
starts, a dead worker's files marked in child_exit), each worker writes its samples there, and
/metrics adds up all of them, whichever worker answers the scrape. Without that variable (tests,
`flask run`) each app counts in a registry of its own.

/metrics is for the scraper, never the public: the Nginx site answers 404 for it on the public
server and serves it on a loopback listener of its own (deploy/nginx, deploy/README.md).
"""

from __future__ import annotations

import os
import time

from apiflask import APIBlueprint
from flask import Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

bp = APIBlueprint("metrics", __name__)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Label values come from a fixed set, never from the client: an endpoint name (or "unmatched"
# when routing failed: 404, 405) and one of these methods (else "other"), so no request can grow the series count.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def init_app(app: Flask) -> None:
    """Count and time every request by endpoint, method and status, in a registry of the app's own."""
    registry = app.extensions["metrics"] = CollectorRegistry()
    requests = Counter("http_requests", "Requests answered", ["endpoint", "method", "status"], registry=registry)
    latency = Histogram(
        "http_request_duration_seconds", "Time to answer a request", ["endpoint", "method"], registry=registry
    )

    @app.before_request
    def start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request  # Flask runs it for error responses too
    def record(response: Response) -> Response:
        started = g.pop("request_started", None)
        if started is not None:
            endpoint = request.endpoint or "unmatched"
            method = request.method if request.method in METHODS else "other"
            requests.labels(endpoint, method, str(response.status_code)).inc()
            latency.labels(endpoint, method).observe(time.perf_counter() - started)
        return response

    app.register_blueprint(bp)


@bp.get("/metrics")
@bp.doc(hide=True)
def metrics() -> Response:
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = current_app.extensions["metrics"]
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
