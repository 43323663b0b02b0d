"""The generated deployment configs, parsed and then run for real.

- For every worker_class x tls: the Nginx site, wrapped in a minimal nginx.conf on loopback
  (flaskgen.testing.local_nginx_conf), parses with crossplane and holds the timeouts, buffering, limits and
  headers deploy/README.md promises. (`gunicorn --check-config`, `nginx -t` and gixy run on the
  same pairs in the variant matrix: pairwise covers every worker_class x tls pair.)
- Live, one stack per worker_class: Gunicorn with the generated config on a unix socket, Nginx
  with the generated site on a loopback port; requests go through Nginx like a client's would.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import crossplane
import pytest

from flaskgen.testing import free_port, port_open, run_step, stop, tool_env, wait_until
from tests.stack import Stack, install, local_nginx, make_project, production_env, running_stack

WORKER_CLASSES = ["gthread", "sync", "gevent"]
SECURITY_HEADERS = ["X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Content-Security-Policy"]


def directives(block: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [d for d in block if d["directive"] == name]


def args_of(block: list[dict[str, Any]], name: str) -> list[list[str]]:
    return [d["args"] for d in directives(block, name)]


@pytest.mark.parametrize("tls", ["none", "certbot"])
@pytest.mark.parametrize("worker_class", WORKER_CLASSES)
def test_nginx_site_holds_the_promised_settings(tmp_path: Path, worker_class: str, tls: str) -> None:
    project = make_project(tmp_path, worker_class=worker_class, tls=tls)
    conf = local_nginx(project, tmp_path / "nginx")
    parsed = crossplane.parse(str(conf), combine=True)
    assert parsed["status"] == "ok", parsed["errors"]
    http_block = directives(parsed["config"][0]["parsed"], "http")[0]["block"]
    servers = directives(http_block, "server")

    (upstream,) = directives(http_block, "upstream")
    assert args_of(upstream["block"], "server")[0][0].startswith("unix:")
    assert "fail_timeout=0" in args_of(upstream["block"], "server")[0]
    assert {z[0] for z in args_of(http_block, "limit_req_zone")} == {"$binary_remote_addr"}
    assert {z[0] for z in args_of(http_block, "limit_conn_zone")} == {"$binary_remote_addr"}

    default = [s for s in servers if ["_"] in args_of(s["block"], "server_name")]
    assert any(["444"] in args_of(s["block"], "return") for s in default)
    for server in default:  # header timeouts of a port come from its default server
        assert args_of(server["block"], "client_header_timeout") == [["10s"]]
    assert all(["off"] in args_of(s["block"], "server_tokens") for s in servers)

    app_servers = [s for s in servers if directives(s["block"], "location")]
    proxied = [
        s
        for s in app_servers
        if any(directives(loc["block"], "proxy_pass") for loc in directives(s["block"], "location"))
    ]
    # The app's server, and (metrics on by default) the scraper's: loopback only, /metrics only.
    (app,) = [s for s in proxied if ["_"] not in args_of(s["block"], "server_name")]
    (scraper,) = [s for s in proxied if s is not app]
    metrics_location, rest = directives(scraper["block"], "location")
    assert metrics_location["args"] == ["=", "/metrics"] and rest["args"] == ["/"]
    assert args_of(metrics_location["block"], "allow") == [["127.0.0.1"]]
    assert args_of(metrics_location["block"], "deny") == [["all"]] == args_of(rest["block"], "deny")
    block = app["block"]
    (refused,) = [loc for loc in directives(block, "location") if loc["args"] == ["=", "/metrics"]]
    assert args_of(refused["block"], "return")[0][0] == "404"
    for name in ("client_header_timeout", "client_body_timeout", "send_timeout", "keepalive_timeout"):
        (value,) = args_of(block, name)
        assert int(value[0].rstrip("s")) <= 10, name
    assert args_of(block, "client_max_body_size") == [["10m"]]
    assert args_of(block, "limit_req_status") == [["429"]] and args_of(block, "limit_conn_status") == [["429"]]
    assert directives(block, "limit_req") and directives(block, "limit_conn")
    headers = {a[0] for a in args_of(block, "add_header")}
    assert set(SECURITY_HEADERS) <= headers
    assert ("Strict-Transport-Security" in headers) == (tls == "certbot")
    for location in directives(block, "location"):
        assert not directives(location["block"], "add_header"), "add_header in a location drops the server's headers"
    (root,) = [loc for loc in directives(block, "location") if loc["args"] == ["/"]]
    assert args_of(root["block"], "proxy_buffering") == [["on"]]
    assert args_of(root["block"], "proxy_request_buffering") == [["on"]]
    forwarded = {a[0] for a in args_of(root["block"], "proxy_set_header")}
    assert {"Host", "X-Forwarded-For", "X-Forwarded-Proto", "X-Request-ID"} <= forwarded
    # The first hop: the address Nginx saw replaces whatever X-Forwarded-For the client sent.
    assert ["X-Forwarded-For", "$remote_addr"] in args_of(root["block"], "proxy_set_header")
    if tls == "certbot":
        assert any("ssl" in listen for listen in args_of(block, "listen"))
        assert args_of(block, "ssl_protocols") == [["TLSv1.2", "TLSv1.3"]]
        redirect = [s for s in app_servers if s is not app]
        assert any(
            ["301", "https://$host$request_uri"] in args_of(loc["block"], "return")
            for s in redirect
            for loc in directives(s["block"], "location")
        )


# --- live stack -------------------------------------------------------------------------


def listening_tcp_inodes() -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if os.path.exists(table):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A":  # LISTEN
                    inodes.add(fields[9])
    return inodes


def process_tree(pid: int) -> list[int]:
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [pid, *(int(c) for c in children)]


def tcp_listeners_of(pids: list[int]) -> list[str]:
    listening = listening_tcp_inodes()
    found = []
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            match = re.fullmatch(r"socket:\[(\d+)\]", target)
            if match and match.group(1) in listening:
                found.append(f"pid {pid} fd {fd.name}")
    return found


@pytest.fixture(params=WORKER_CLASSES)
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    project = make_project(tmp_path, worker_class=request.param)
    install(project)
    home = tmp_path / "home"  # where Gunicorn's default control socket would go
    with running_stack(project, HOME=str(home), XDG_RUNTIME_DIR=str(home / "run")) as running:
        yield running
        control = [str(p) for p in home.rglob("*")] if home.exists() else []
    assert control == [], "Gunicorn's control socket is shared by every service of the user"


@pytest.mark.live
def test_live_stack(stack: Stack) -> None:
    # 1. /healthz through Nginx: 200, security headers, a request id.
    response = stack.request(headers={"X-Request-ID": "smoke-1"})
    assert response.status == 200, response.body
    for header in SECURITY_HEADERS:
        assert response.getheader(header), header
    assert response.getheader("X-Request-ID") == "smoke-1"
    assert stack.request().getheader("X-Request-ID")  # made by Nginx when the client sends none

    # 2. A body over client_max_body_size: 413 from Nginx; Gunicorn never logs the request.
    connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
    connection.putrequest("POST", "/too-big", skip_host=True)
    connection.putheader("Host", stack.host)
    connection.putheader("Content-Length", str(11 * 1024 * 1024))
    connection.endheaders()
    too_big = connection.getresponse()
    assert too_big.status == 413
    assert_json_error(too_big.status, too_big.getheader("Content-Type"), too_big.read())
    connection.close()

    # 3. An unknown Host: the connection is dropped without an answer (444).
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
        connection.request("GET", "/healthz", headers={"Host": "attacker.invalid"})
        connection.getresponse()

    # 4. A burst over the rate limit (20 r/s, burst 40): some requests get 429, as JSON.
    responses = [stack.request(source="127.0.0.2") for _ in range(120)]
    statuses = [r.status for r in responses]
    assert 429 in statuses and 200 in statuses, statuses
    limited = next(r for r in responses if r.status == 429)
    assert_json_error(429, limited.getheader("Content-Type"), limited.body)

    # 5. Gunicorn listens on no TCP port at all, only on its unix socket.
    assert tcp_listeners_of(process_tree(stack.gunicorn.pid)) == []

    time.sleep(0.5)  # let the access log flush
    log = stack.gunicorn_log.read_text()
    assert "GET /healthz" in log
    assert "/too-big" not in log
    assert "attacker.invalid" not in log


def assert_json_error(status: int, content_type: str | None, body: bytes) -> None:
    """Every error a client sees is the app's JSON format, never an HTML page."""
    assert content_type is not None and content_type.startswith("application/json"), (content_type, body[:200])
    assert json.loads(body)["error"]["code"] == status


@pytest.fixture
def items_stack(tmp_path: Path) -> Iterator[Stack]:
    """The default variant (SQLite, gthread) behind Nginx."""
    project = make_project(tmp_path, database="sqlite")
    install(project)
    with running_stack(project) as running:
        yield running


@pytest.mark.live
def test_live_stack_refuses_hostile_headers(items_stack: Stack) -> None:
    stack, source = items_stack, "127.0.0.3"
    # A client's X-Forwarded-Host never names the app's URLs (Nginx overwrites it, the app
    # trusts only X-Forwarded-For/Proto): the slash-merging redirect points at the real host.
    redirect = stack.request(path="/items//1", headers={"X-Forwarded-Host": "evil.example"}, source=source)
    assert redirect.status == 308, redirect.body
    location = redirect.getheader("Location")
    assert "evil.example" not in location and location.endswith(f"://{stack.host}/items/1"), location

    # Nginx's limits come first and answer JSON; what Nginx lets through, Gunicorn accepts.
    longest_accepted = stack.request(path="/" + "a" * 8000, source=source)
    assert longest_accepted.status == 404, longest_accepted.body  # the app's own 404
    assert_json_error(404, longest_accepted.getheader("Content-Type"), longest_accepted.body)
    # Over 8 KiB: Nginx's own short 414 page (it cannot redirect a line it could not read).
    assert stack.request(path="/" + "a" * 9000, source=source).status == 414
    many = stack.request(headers={f"X-Filler-{n}": "x" for n in range(800)}, source=source)
    assert many.status == 200, many.body
    huge = stack.request(headers={"X-Huge": "x" * 9000}, source=source)
    assert huge.status == 400
    assert_json_error(400, huge.getheader("Content-Type"), huge.body)

    # A JSON body Python's parser cannot take (nested past the recursion limit, an integer past
    # its 4,300 digits) is a 400 in the app's format, as any other body that is not JSON.
    for body in (b"[" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000, b'{"name": ' + b"7" * 5_000 + b"}"):
        hostile = stack.request("POST", "/items", {"Content-Type": "application/json"}, body=body, source=source)
        assert hostile.status == 400, (body[:20], hostile.status, hostile.body[:200])
        assert_json_error(400, hostile.getheader("Content-Type"), hostile.body)

    # With Gunicorn gone, Nginx says 502, as JSON too.
    stop(stack.gunicorn)
    down = stack.request(source=source)
    assert down.status == 502
    assert_json_error(502, down.getheader("Content-Type"), down.body)


@pytest.mark.live
def test_live_forwarded_headers_count_from_the_proxy_only(items_stack: Stack, tmp_path: Path) -> None:
    """X-Forwarded-For/-Proto name the client's address and scheme only when the proxy sends them:
    through Nginx they are Nginx's own, whatever the client sent; with Gunicorn on a network
    address (several app hosts, deploy/README.md), a request straight from another host keeps
    its own scheme. (The address itself is checked by the project's tests/test_proxy.py.)"""
    stack, spoofed = items_stack, {"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https"}
    through_nginx = stack.request(path="/items//1", headers=spoofed, source="127.0.0.4")
    assert through_nginx.getheader("Location") == f"http://{stack.host}/items/1"

    port = free_port()
    env = production_env(stack.socket, GUNICORN_BIND=f"127.0.0.1:{port}", RUNTIME_DIRECTORY=str(tmp_path))
    package = stack.project.name.replace("-", "_")
    with (tmp_path / "gunicorn.log").open("wb") as log:
        gunicorn = subprocess.Popen(
            [str(stack.project / ".venv/bin/gunicorn"), "-c", "deploy/gunicorn.conf.py", f"{package}.wsgi:app"],
            cwd=stack.project, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until(lambda: port_open(port) or gunicorn.poll() is not None, "gunicorn on a TCP port")
        # 127.0.0.1 is the proxy (FORWARDED_ALLOW_IPS' default); 127.0.0.9 is anyone else.
        for source, scheme in (("127.0.0.1", "https"), ("127.0.0.9", "http")):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
            connection.request("GET", "/items//1", headers={"Host": stack.host, **spoofed})
            direct = connection.getresponse()
            connection.close()
            assert direct.getheader("Location") == f"{scheme}://{stack.host}/items/1", source
    finally:
        stop(gunicorn)


def raw_request(stack: Stack, data: bytes, source: str = "127.0.0.4") -> tuple[int, dict[str, str], bytes] | None:
    """Send data as the whole request through Nginx: (status, headers lower-cased, body), or None
    when Nginx closed the connection without an answer."""
    with socket.create_connection(("127.0.0.1", stack.port), timeout=10, source_address=(source, 0)) as client:
        client.sendall(data)
        received = b""
        while chunk := client.recv(65536):
            received += chunk
    if not received:
        return None
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.live
def test_live_client_errors_are_json(items_stack: Stack) -> None:
    """Errors a client can make Nginx answer come back as JSON in the app's format: an unknown
    Transfer-Encoding (501), TRACE (405, with Allow), a missing or forbidden path under /static/
    (404, 403). An HTTP version Nginx does not speak (505) and CONNECT (405) are JSON too where
    Nginx answers them (nginx 1.22 closes the connection without an answer). Gunicorn answers a
    header value with a control character itself (its HTML 400: deploy/README.md says so)."""
    host = f"Host: {items_stack.host}\r\nConnection: close\r\n"
    cases = {
        501: f"POST /items HTTP/1.1\r\n{host}Transfer-Encoding: gzip\r\n\r\n",
        405: f"TRACE /items HTTP/1.1\r\n{host}\r\n",
        404: f"GET /static/missing.css HTTP/1.1\r\n{host}\r\n",
        403: f"GET /static/ HTTP/1.1\r\n{host}\r\n",
    }
    for status, request in cases.items():
        answer = raw_request(items_stack, request.encode())
        assert answer is not None, request
        answered, headers, body = answer
        assert answered == status, (request, answered, body[:200])
        assert_json_error(status, headers.get("content-type"), body)
        assert headers.get("allow") == ("GET, HEAD, OPTIONS, POST" if status == 405 else None), headers
    for request in (f"GET /healthz HTTP/2.0\r\n{host}\r\n", f"CONNECT {items_stack.host}:443 HTTP/1.1\r\n{host}\r\n"):
        answer = raw_request(items_stack, request.encode())
        if answer is not None:  # answered: JSON, never Nginx's HTML page
            assert_json_error(answer[0], answer[1].get("content-type"), answer[2])
    app_405 = raw_request(items_stack, f"DELETE /items HTTP/1.1\r\n{host}\r\n".encode())
    assert (
        app_405 is not None and app_405[1]["allow"].count("GET") == 1
    )  # the app's own 405 names its own methods, once
    control = raw_request(items_stack, f"GET /healthz HTTP/1.1\r\n{host}X-Odd: a\x01b\r\n\r\n".encode())
    assert control is not None and control[0] == 400


def requests_counted(exposition: bytes, endpoint: str) -> float:
    """The http_requests_total of endpoint in a Prometheus text exposition, over every label set."""
    from prometheus_client.parser import text_string_to_metric_families

    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition.decode())
        for sample in family.samples
        if sample.name == "http_requests_total" and sample.labels["endpoint"] == endpoint
    )


@pytest.fixture
def metrics_stack(tmp_path: Path) -> Iterator[Stack]:
    """The default metrics (Prometheus) with three Gunicorn workers behind Nginx."""
    project = make_project(tmp_path, metrics="prometheus")
    install(project)
    with running_stack(project, WEB_CONCURRENCY="3") as running:
        yield running


@pytest.mark.live
def test_live_metrics_count_every_worker_and_stay_private(metrics_stack: Stack) -> None:
    stack, requests = metrics_stack, 90
    status, before = stack.gunicorn_request("/metrics")
    assert status == 200, before
    # 90 requests through Nginx from 9 addresses (under the per-address rate limit), spread by
    # Gunicorn over its three workers; a scrape, whichever worker answers it, counts all of them.
    for n in range(requests):
        assert stack.request(source=f"127.0.5.{n % 9 + 1}").status == 200
    status, after = stack.gunicorn_request("/metrics")
    assert status == 200
    assert requests_counted(after, "health.healthz") - requests_counted(before, "health.healthz") == requests
    writers = {path.name.rsplit("_", 1)[1] for path in (stack.socket.parent / "edge-api-metrics").glob("counter_*.db")}
    assert len(writers) >= 2, f"the requests reached only the workers {writers}: nothing was summed"

    # Nginx refuses /metrics to the public, however the path is spelt; the app's own 404 for the
    # spellings that are another path to the app.
    spellings = ("/metrics", "//metrics", "/%6Detrics", "/metrics?x=1", "/./metrics", "/x/../metrics", "/metrics/")
    for path in spellings:
        response = stack.request(path=path, source="127.0.5.20")
        assert response.status == 404, (path, response.status)
        assert b"http_requests" not in response.body, path
        assert_json_error(404, response.getheader("Content-Type"), response.body)
    # The scraper's listener on loopback serves it (and nothing else).
    scraper = http.client.HTTPConnection("127.0.0.1", stack.scraper_port, timeout=10)
    scraper.request("GET", "/metrics", headers={"Host": "evil.example"})
    scraped = scraper.getresponse()
    assert scraped.status == 200 and requests_counted(scraped.read(), "health.healthz") >= requests
    scraper.request("GET", "/healthz")
    other = scraper.getresponse()
    assert other.status == 403
    scraper.close()


# The generated project's own test issuer (tests/oidc.py), run in its venv: prints its URL and two
# tokens (every scope; items:read only), then serves until stdin closes.
ISSUER_SCRIPT = """
import sys
from tests.oidc import LocalIssuer
issuer = LocalIssuer()
print(issuer.url, issuer.token(), issuer.token(scope="items:read"), sep="\\n", flush=True)
sys.stdin.read()
"""


@pytest.mark.live
def test_live_auth_guards_the_write_path(tmp_path: Path) -> None:
    project = make_project(tmp_path, auth="oidc", database="sqlite")
    install(project)
    # The tables, as deploy/README.md has it (`flask db upgrade`), in the instance folder Gunicorn uses.
    flask = str(project / ".venv/bin/flask")
    run_step("migrate", [flask, "--app", "edge_api.cli", "db", "upgrade"], project, tool_env(APP_ENV="development"))
    issuer = subprocess.Popen(
        [str(project / ".venv/bin/python"), "-c", ISSUER_SCRIPT], cwd=project, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert issuer.stdout is not None and issuer.stdin is not None
    try:
        url, write_token, read_token = (issuer.stdout.readline().strip() for _ in range(3))
        with running_stack(project, FLASK_OIDC_ISSUER=url, FLASK_OIDC_AUDIENCE="edge-api") as stack:

            def post(token: str | None) -> Any:
                headers = {"Content-Type": "application/json"}
                if token:
                    headers["Authorization"] = f"Bearer {token}"
                return stack.request("POST", "/items", headers, body=b'{"name": "through nginx"}', source="127.0.6.1")

            missing = post(None)
            assert missing.status == 401 and missing.getheader("WWW-Authenticate").startswith("Bearer"), missing.body
            assert_json_error(401, missing.getheader("Content-Type"), missing.body)
            forged = write_token.rsplit(".", 1)[0] + ".AAAA"
            assert post(forged).status == 401
            scoped = post(read_token)
            assert scoped.status == 403 and "insufficient_scope" in scoped.getheader("WWW-Authenticate")
            created = post(write_token)
            assert created.status == 201, created.body
            assert json.loads(created.body)["name"] == "through nginx"
            # With a valid token, a body Python's JSON parser cannot take is a 400 like any other.
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {write_token}"}
            for body in (b"[" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000, b'{"name": ' + b"7" * 5_000 + b"}"):
                hostile = stack.request("POST", "/items", headers, body=body, source="127.0.6.2")
                assert hostile.status == 400, (body[:20], hostile.status, hostile.body[:200])
                assert_json_error(400, hostile.getheader("Content-Type"), hostile.body)
    finally:
        issuer.stdin.close()
        stop(issuer)
        issuer.stdout.close()


@pytest.mark.live
def test_flask_run_starts(tmp_path: Path) -> None:
    """`flask --app <package>.cli run` (the development server) serves /healthz."""
    project = make_project(tmp_path, database="sqlite")
    install(project)
    port = free_port()
    server = subprocess.Popen(
        [str(project / ".venv/bin/flask"), "--app", "edge_api.cli", "run", "--port", str(port)],
        cwd=project, env=tool_env(APP_ENV="development"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until(lambda: port_open(port) or server.poll() is not None, "flask run")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        assert response.status == 200
        assert response.read() == b'{"status":"ok"}\n'
        connection.close()
    finally:
        stop(server)
