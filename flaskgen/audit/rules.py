"""The audit's rules: stable codes, a one-line message and a one-line fix each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    summary: str
    fix: str
    opt_in: bool = False
    """Reported only when selected (`--select ALL`, its code or a prefix of it): true to its letter,
    but often a deliberate choice a reviewer would leave (like ruff's rules outside its default set)."""


RULES: tuple[Rule, ...] = (
    Rule("FG101", "gunicorn-exposed",
         "Gunicorn binds a public address with no reverse proxy in front, or a port the proxy reaches on loopback",
         "bind a unix socket or 127.0.0.1 and put Nginx in front (flaskgen's deploy/nginx)"),
    Rule("FG102", "too-many-workers", "a fixed Gunicorn worker count above 2 x CPU + 1 of the target",
         "use workers = min(2 * CPU + 1, cap) and let WEB_CONCURRENCY override it"),
    Rule("FG103", "sync-worker-no-timeout", "sync workers with the worker timeout disabled (0)",
         "set timeout to a bound such as 30 so hung workers are replaced"),
    Rule("FG201", "proxy-buffering-off", "Nginx proxies to sync workers with request or response buffering off",
         "keep proxy_buffering and proxy_request_buffering on for sync/gthread workers "
         "(off only on streaming locations)"),
    Rule("FG202", "slow-client-timeouts", "Nginx client header/body timeouts set above the 60 s default",
         "set client_header_timeout and client_body_timeout to about 10s"),
    Rule("FG203", "no-body-limit", "client_max_body_size 0 (no limit) on a server proxying to the app",
         "set client_max_body_size to the app's MAX_CONTENT_LENGTH; send big files straight to object storage"),
    Rule("FG301", "global-state-mutated", "module-level mutable state is modified in request code",
         "keep per-request data in flask.g, the session, the database or Redis"),
    Rule("FG401", "sync-io-in-handler",
         "slow blocking work (SMTP, mail, a sleep polling for a result) in request code or a helper it calls",
         "move slow work to a task queue (Celery/RQ) and answer 202 with a job id"),
    Rule("FG403", "sleep-or-process-in-handler",
         "a sleep or a subprocess in request code or a helper it calls (opt-in: most are short and "
         "deliberate, a throttle, a settle pause or a quick tool)",
         "move long or repeated work to a task queue; keep a deliberate pause short", opt_in=True),
    Rule("FG402", "http-without-timeout", "an HTTP call (requests, urlopen, http.client) with no timeout",
         "pass timeout=(connect, read), e.g. timeout=(3.05, 10), so a hung upstream cannot hold the worker"),
    Rule("FG501", "blocking-logging",
         "a network (SMTP/HTTP/TCP) log handler attached in the web process without a QueueHandler",
         "log through logging.handlers.QueueHandler with a QueueListener writing to the sink, or log to stderr"),
    Rule("FG502", "file-logging",
         "a file log handler attached in the web process without a QueueHandler (opt-in: a local disk write "
         "is fast, and many hosts want the file)",
         "log to stderr for the supervisor to ship, or put a QueueHandler in front of the file", opt_in=True),
    Rule("FG601", "hardcoded-secret-key",
         "SECRET_KEY is a literal, or falls back to one, outside development/testing",
         "read it from the environment with no default (FLASK_SECRET_KEY with app.config.from_prefixed_env())"),
    Rule("FG602", "debug-in-production", "DEBUG or FLASK_DEBUG is switched on where production can reach it",
         "enable DEBUG only in a development config, never in code or settings production loads"),
    Rule("FG603", "app-at-import",
         "a Flask app is created at module import, no application factory (opt-in: a structural choice "
         "that tests and per-environment settings pay for, not a fault in production)",
         "build the app in create_app() and create it once in wsgi.py", opt_in=True),
    Rule("FG604", "dev-server-in-production",
         "the development server (flask run, app.run, run_simple) is the production entrypoint",
         "serve with Gunicorn (gunicorn 'pkg.wsgi:app') behind Nginx; keep app.run() under "
         "if __name__ == '__main__' for local use"),
    Rule("FG701", "manual-context-push", "an app or request context is pushed inside request code, or nested",
         "request code already runs in a context; push one only in CLI/worker entry points"),
    Rule("FG801", "k8s-workers-above-cpu-limit",
         "Gunicorn runs more workers than 2 x the container's CPU limit + 1 (a literal count, or one computed "
         "from the node's CPU count, which a container limit does not change)",
         "set WEB_CONCURRENCY from the limit (env valueFrom resourceFieldRef limits.cpu) or to 2 x limit + 1"),
    Rule("FG802", "k8s-liveness-checks-dependencies",
         "the liveness probe calls a readiness/dependency check: a database outage restarts every pod",
         "probe liveness on an endpoint with no I/O (/healthz); keep dependency checks in the readiness probe"),
    Rule("FG803", "k8s-grace-period-too-short",
         "terminationGracePeriodSeconds is not longer than the preStop pause plus Gunicorn's graceful_timeout: "
         "in-flight requests are killed",
         "set terminationGracePeriodSeconds above preStop sleep + graceful_timeout (e.g. 5 + 30 -> 45)"),
    Rule("FG804", "k8s-no-buffering-proxy",
         "sync/gthread Gunicorn is reached with no request-buffering proxy: a Service targets its port with no "
         "Nginx in the pod, or ingress-nginx is told not to buffer or limit bodies",
         "put Nginx in the pod on a shared unix socket and target the Service at it; keep ingress-nginx "
         "buffering on with a body limit"),
    Rule("FG805", "k8s-secret-literal",
         "a secret (SECRET_KEY, a password, a token, a URL with credentials) is a literal env value, "
         "ConfigMap or committed Secret entry in a Kubernetes manifest, or a Helm value a template renders",
         "keep it in a Secret (made outside the repository) and read it with valueFrom.secretKeyRef"),
)  # fmt: skip

BY_CODE = {rule.code: rule for rule in RULES}
