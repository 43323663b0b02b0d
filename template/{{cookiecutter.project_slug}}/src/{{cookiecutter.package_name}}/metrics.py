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
from collections.abc import Iterable
from typing import TYPE_CHECKING

from apiflask import APIBlueprint
from flask import Flask, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

bp = APIBlueprint("metrics", __name__)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
STARTED_KEY = "{{ cookiecutter.package_name }}.started"  # where StartTimer notes the time in the environ
# Label values come from a fixed set, never from the client: an endpoint name (or "unmatched"
# when routing failed: 404, 405) and one of these methods (else "other"), so no request can grow the series count.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    """The app's request metrics, in the app's own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests", "Requests answered", ["endpoint", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds", "Time to answer a request", ["endpoint", "method"], registry=self.registry
        )

        # The labelled series by (endpoint, method, status): a bounded set (see METHODS), and
        # looking one up here is cheaper than prometheus_client's labels() on every request.
        self.series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def record(self, response: Response) -> Response:
        """Count and time the request by endpoint, method and status (an after_request hook: Flask
        runs it for error responses too, and the endpoint is known only inside the request)."""
        environ = request.environ
        started = environ.get(STARTED_KEY)
        if started is not None:
            seconds = time.perf_counter() - started
            method = environ.get("REQUEST_METHOD", "")  # as sent (methods are case-sensitive)
            key = (request.endpoint or "unmatched", method if method in METHODS else "other", response.status_code)
            series = self.series.get(key)
            if series is None:  # two threads may both get here: labels() returns the same child to each
                series = self.series[key] = (
                    self.requests.labels(key[0], key[1], str(key[2])),
                    self.latency.labels(key[0], key[1]),
                )
            series[0].inc()
            series[1].observe(seconds)
        return response


class StartTimer:
    """WSGI middleware around the app: notes when each request came in (for `record`). Cheaper
    than a before_request hook, which Flask runs through ensure_sync and the context-local
    proxies on every request (bench/README.md, overhead)."""

    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        environ[STARTED_KEY] = time.perf_counter()
        return self.wsgi_app(environ, start_response)


@bp.get("/metrics")
@bp.doc(hide=True)
def metrics() -> Response:
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = current_app.extensions["metrics"].registry
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    app.extensions["metrics"] = request_metrics = Metrics()
    app.wsgi_app = StartTimer(app.wsgi_app)  # type: ignore[method-assign]
    app.after_request(request_metrics.record)
    app.register_blueprint(bp)
