{%- set wc = cookiecutter.worker_class -%}
"""Gunicorn settings for {{ cookiecutter.project_name }}: `gunicorn -c deploy/gunicorn.conf.py {{ cookiecutter.package_name }}.wsgi:app`.

Gunicorn is never the public listener: it binds a unix socket that only Nginx talks to.
Every value can be changed from the environment without editing this file.
"""

{% if cookiecutter.metrics == "prometheus" -%}
import glob
{% endif -%}
{% if wc != "gevent" -%}
import importlib
{% endif -%}
import os
import subprocess
import sys
{%- if cookiecutter.metrics == "prometheus" %}
import tempfile
{%- endif %}

# Upper bound on the default worker count: past this, more processes on one host mostly add
# memory and contention; scale out with more hosts behind Nginx's upstream instead.
MAX_DEFAULT_WORKERS = 12


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def available_cpus() -> int:
    """CPUs this process may run on (respects affinity/cgroup cpusets where the OS reports it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def default_workers(cpus: int | None = None) -> int:
    """2 x CPU + 1 (Gunicorn's rule of thumb), capped at MAX_DEFAULT_WORKERS."""
    return min(2 * (cpus or available_cpus()) + 1, MAX_DEFAULT_WORKERS)


# Unix socket by default so nothing but Nginx can reach Gunicorn; GUNICORN_BIND overrides
# (e.g. 0.0.0.0:8000 inside a container network that only the proxy can reach, or the host's
# private address behind a firewall with several app hosts: deploy/README.md).
bind = os.environ.get("GUNICORN_BIND", "unix:/run/{{ cookiecutter.project_slug }}/gunicorn.sock")
# Socket mode 660 (umask 007): the Nginx user reaches it through the service's group.
umask = 0o007
# Workers from WEB_CONCURRENCY (the common convention), else 2 x CPU + 1 capped.
workers = _env_int("WEB_CONCURRENCY", default_workers())
{%- if wc == "gthread" %}
# gthread: each worker serves GUNICORN_THREADS requests at once; I/O waits overlap.
worker_class = "gthread"
threads = _env_int("GUNICORN_THREADS", 4)
{%- elif wc == "gevent" %}
# gevent: cooperative green threads; one worker holds many slow (I/O-bound) requests.
worker_class = "gevent"
worker_connections = _env_int("GUNICORN_WORKER_CONNECTIONS", 1000)
{%- else %}
# sync: one request per worker at a time; Nginx buffering shields it from slow clients.
worker_class = "sync"
{%- endif %}
# A worker silent for this long is killed and replaced (hung request or deadlock).
timeout = _env_int("GUNICORN_TIMEOUT", 30)
# On SIGTERM/HUP, workers get this long to finish in-flight requests.
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Keep-alive with Nginx; short, since Nginx holds the client connections. Nginx closes its idle
# upstream connections sooner (keepalive_timeout 4s), so it never sends on one Gunicorn closed.
keepalive = 5
# Recycle workers after a number of requests (bounded memory growth). Under even load every
# worker reaches the count at the same pace, so each draws its own limit from max_requests to
# 1.5 x max_requests: they restart one at a time, not together (the libraries preloaded below
# make a new worker quick to serve).
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", max_requests // 2)
# Request size limits. Nginx refuses oversized requests first, with its own (JSON) errors; these
# sit at or above what it lets through (the request line and each header line within one 8 KiB
# buffer of large_client_header_buffers, all headers within 4 of them: 32 KiB, so at most ~8,000
# tiny header lines), so no size Nginx passed makes Gunicorn refuse it. Gunicorn still answers a
# header it cannot accept (a control character in its value, which Nginx passes on) with its own
# short HTML 400 (deploy/README.md, "Errors").
limit_request_line = 8190
limit_request_fields = 32768  # Gunicorn's maximum; Nginx's 32 KiB header limit binds first
limit_request_field_size = 8190
# Trust X-Forwarded-* only from the local proxy.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Heartbeat files in RAM: a slow disk can otherwise make healthy workers look dead.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
{%- if cookiecutter.metrics == "prometheus" %}
# Prometheus multiprocess mode: each worker writes its samples to files here, and /metrics adds up
# every worker's. Set before any worker imports prometheus_client; systemd's RuntimeDirectory
# (/run/{{ cookiecutter.project_slug }}/) by default, so it is on tmpfs and private to the service.
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    os.path.join(os.environ.get("RUNTIME_DIRECTORY", tempfile.gettempdir()), "{{ cookiecutter.project_slug }}-metrics"),
)
{%- endif %}
# Logs to stdout/stderr for the supervisor (systemd, Docker) to collect; the request id
# from Nginx's X-Request-ID header is on every access line.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}i)s'
# The app is imported in each worker after fork (no preload): no shared state, and each
# worker starts its own logging thread.
preload_app = False
proc_name = "{{ cookiecutter.project_slug }}"
# No control socket: Gunicorn's default path (~/.gunicorn/gunicorn.ctl) is shared by every
# service running as the same user. Signals (systemctl reload/stop) are the interface here.
control_socket_disable = True
{%- if wc != "gevent" %}
# Libraries imported once in the master and inherited by every worker: a new worker (at start,
# after max_requests, at each `systemctl reload`) then imports only this app's own modules and is
# serving within a fraction of a second, so a reload does not stall requests while five workers
# import Flask at once. The app itself stays out of the master (preload_app off): a reload still
# loads new app code; upgraded libraries need a restart. (Not with gevent, which must patch
# the standard library before these are imported.)
PRELOADED_LIBRARIES = (
    "flask",
    "apiflask",
{%- if cookiecutter.metrics == "prometheus" %}
    "prometheus_client",
{%- endif %}
{%- if cookiecutter.auth == "oidc" %}
    "jwt",
{%- endif %}
{%- if cookiecutter.error_tracking == "sentry" %}
    "sentry_sdk.integrations.flask",
{%- endif %}
{%- if cookiecutter.tracing == "opentelemetry" %}
    "opentelemetry.sdk.trace",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.instrumentation.flask",
    "opentelemetry.instrumentation.urllib",
{%- if cookiecutter.database != "none" %}
    "opentelemetry.instrumentation.sqlalchemy",
{%- endif %}
{%- endif %}
{%- if cookiecutter.database != "none" %}
    "sqlalchemy.orm",
    "flask_sqlalchemy",
    "flask_migrate",
{%- endif %}
{%- if cookiecutter.database == "postgresql" %}
    "psycopg",
{%- endif %}
{%- if cookiecutter.task_queue == "celery" %}
    "celery",
    "kombu.transport.redis",
{%- elif cookiecutter.task_queue == "rq" %}
    "redis",
    "rq",
{%- endif %}
)
for _library in PRELOADED_LIBRARIES:
    importlib.import_module(_library)
{%- endif %}


def on_starting(server):  # type: ignore[no-untyped-def]
    """Load the app once in a child process before any worker starts: a refused configuration
    (no secret key, ...) then stops Gunicorn here, with the app's one-line reason and status 4
    ("app failed to load"), instead of every worker failing in turn. (The workers exit with 4 as
    well, which also stops the master, but Gunicorn 27 then prints a traceback and exits 1.)"""
{%- if cookiecutter.metrics == "prometheus" %}
    metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(metrics_dir, mode=0o700, exist_ok=True)
{%- endif %}
    check = subprocess.run([sys.executable, "-c", "import {{ cookiecutter.package_name }}.wsgi"], check=False)
    if check.returncode != 0:
        raise SystemExit(check.returncode)
{%- if cookiecutter.metrics == "prometheus" %}
    # Counters start from zero with each start of Gunicorn (not with a reload): the sample files of
    # an earlier run, or of the check above, are not summed into /metrics. Only prometheus_client's
    # own *.db files are removed, whatever directory the variable names.
    for leftover in glob.glob(os.path.join(glob.escape(metrics_dir), "*.db")):
        os.remove(leftover)
{%- endif %}

{%- if cookiecutter.metrics == "prometheus" %}


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """A worker is gone: its live gauges no longer count (its counters and histograms still do)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
{%- endif %}
