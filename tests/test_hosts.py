"""Several app hosts behind one Nginx, for real: three app hosts in network namespaces on a private
bridge, the proxy (the root namespace) running the generated Nginx site with the generated
several-hosts upstream, each host running the generated Gunicorn configured as deploy/README.md
("Several app hosts") says, its environment and firewall taken from the same generated files.

Under a steady load through Nginx (GETs and some POSTs, each with its own X-Request-ID), one host
is cut from the network, another killed, a third restarted with its database unreachable; a
scraper's namespace (let through by the firewall) probes and scrapes each host by its address
and tries to spoof the client's address and scheme; an outsider's namespace is dropped by the
firewall. The figures (stall, failed requests, share of 503s) are recorded as properties and
asserted only at the end, so a failing run still reports every one. The stall is the longest time
in which no request through Nginx was answered; the slowest single request is reported beside it.

Each host has its own SQLite file here (migrated once, then copied), standing for the shared
database of a real fleet; "its database down" is a database URL it cannot open, which the app
answers with its dependency 503 (errors.py), as it would a PostgreSQL that refuses connections.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from flaskgen.testing import free_port, local_nginx_conf, nginx_binary, port_open, stop, tool_env, wait_until
from tests.helpers import require
from tests.netns import Host, PrivateNetwork, private_network
from tests.stack import install, make_project

DOMAIN = "edge-api.example.com"
PACKAGE = "edge_api"
# The addresses deploy/README.md and the example files use, and the roles they stand for here.
EXAMPLE_PROXY = "10.0.0.10"
EXAMPLE_SCRAPER = "10.0.0.20"
EXAMPLE_HOSTS = ("10.0.0.11", "10.0.0.12", "10.0.0.13")
APP_PORT = 8000

CUT_SECONDS = 4.0
KILL_SECONDS = 3.0
DATABASE_DOWN_SECONDS = 6.0
REJOIN_TIMEOUT = 20.0

CLIENT = """
import http.client, json, sys
address, path, headers, timeout = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), float(sys.argv[4])
host, port = address.split(":")
try:
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read().decode(errors="replace")
    print(json.dumps({"status": response.status, "location": response.getheader("Location"), "body": body}))
except OSError as error:
    print(json.dumps({"status": 0, "error": type(error).__name__}))
"""
"""A GET from inside a namespace (run with this interpreter under `ip netns exec`)."""


@dataclass
class Answer:
    start: float
    end: float
    status: int
    method: str
    rid: str


@dataclass
class Load:
    """Closed-loop clients through Nginx, each from its own loopback address (Nginx limits per
    address): every tenth request a POST /items, the others GET /items (both use the database)."""

    port: int
    clients: int = 6
    pause: float = 0.05
    answers: list[Answer] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def client(self, index: int) -> None:
        n = 0
        while not self.stopping.is_set():
            n += 1
            post = (n + index) % 10 == 0
            rid = f"load-{index}-{n}"
            headers = {"Host": DOMAIN, "X-Request-ID": rid}
            start, status = time.monotonic(), 0
            connection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=60, source_address=(f"127.0.0.{20 + index}", 0)
            )
            try:
                if post:
                    headers["Content-Type"] = "application/json"
                    connection.request("POST", "/items", body=json.dumps({"name": rid}), headers=headers)
                else:
                    connection.request("GET", "/items?limit=5", headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except OSError:
                status = 0
            finally:
                connection.close()
            self.answers.append(Answer(start, time.monotonic(), status, "POST" if post else "GET", rid))
            time.sleep(self.pause)

    def start(self) -> None:
        for index in range(self.clients):
            thread = threading.Thread(target=self.client, args=(index,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=70)

    def started(self, since: float, until: float) -> list[Answer]:
        return [a for a in list(self.answers) if since <= a.start < until]


def failed(answers: list[Answer]) -> list[Answer]:
    return [a for a in answers if a.status not in (200, 201)]


def stall(answers: list[Answer], since: float, until: float) -> float:
    """The longest time within [since, until] in which no request was answered successfully."""
    ends = sorted(a.end for a in answers if a.status in (200, 201) and since <= a.end <= until)
    marks = [since, *ends, until]
    return max(b - a for a, b in pairwise(marks))


def env_from_readme(project: Path) -> dict[str, str]:
    """The app host's environment file as deploy/README.md's several-hosts section gives it."""
    readme = (project / "deploy" / "README.md").read_text()
    section = readme.split("## Several app hosts", 1)[1]
    block = re.search(r"```sh\n# /etc/[\w-]+/env on each app host\n(.*?)```", section, re.DOTALL)
    assert block, "deploy/README.md has no app host environment block in its several-hosts section"
    settings = {}
    for line in block.group(1).splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            settings[name] = value.strip("'")
    return settings


def localized(text: str, addresses: dict[str, str]) -> str:
    for example, real in addresses.items():
        text = text.replace(example, real)
    return text


def hosts_site(project: Path, directory: Path, addresses: dict[str, str]) -> Path:
    """The generated site with its upstream replaced by the generated several-hosts upstream
    (deploy/nginx/<slug>-upstream-hosts.conf.example), example addresses made real."""
    import crossplane

    def parsed(path: Path) -> list[dict[str, Any]]:
        payload = crossplane.parse(str(path), single=True, check_ctx=False, check_args=False)
        assert payload["status"] == "ok", payload["errors"]
        return payload["config"][0]["parsed"]

    example = project / "deploy" / "nginx" / f"{project.name}-upstream-hosts.conf.example"
    directory.mkdir(parents=True, exist_ok=True)
    local_example = directory / "upstream.conf"
    local_example.write_text(localized(example.read_text(), addresses))
    (upstream,) = [d for d in parsed(local_example) if d["directive"] == "upstream"]
    site = [
        upstream if d["directive"] == "upstream" else d
        for d in parsed(project / "deploy" / "nginx" / f"{project.name}.conf")
    ]
    path = directory / f"{project.name}.conf"
    path.write_text(crossplane.build(site) + "\n")
    return path


@dataclass
class AppHost:
    host: Host
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def served(self, since_line: int = 0) -> list[str]:
        """Its access log lines (after the first since_line)."""
        return [line for line in self.log.read_text(errors="replace").splitlines() if " rid=" in line][since_line:]


class Fleet:
    def __init__(self, project: Path, net: PrivateNetwork, runtime: Path) -> None:
        self.project, self.net, self.runtime = project, net, runtime
        self.secret_key = secrets.token_hex(32)  # one key, the same on every host
        self.nginx: subprocess.Popen[bytes] | None = None
        self.scraper = net.add_host("mon", 20)
        self.outsider = net.add_host("out", 66)
        self.addresses = {EXAMPLE_PROXY: net.proxy_address, EXAMPLE_SCRAPER: self.scraper.address}
        hosts = [net.add_host(f"h{n}", 10 + n) for n in range(1, len(EXAMPLE_HOSTS) + 1)]
        self.addresses |= {example: host.address for example, host in zip(EXAMPLE_HOSTS, hosts, strict=True)}
        self.app_hosts = []
        for host in hosts:
            # The block is written for the first host (10.0.0.11): each host puts its own address.
            own = self.addresses | {EXAMPLE_HOSTS[0]: host.address}
            settings = {k: localized(v, own) for k, v in env_from_readme(project).items()}
            (runtime / host.name).mkdir()
            env = tool_env(
                **settings,
                FLASK_SECRET_KEY=self.secret_key,
                RUNTIME_DIRECTORY=str(runtime / host.name),
                DATABASE_URL=f"sqlite:///{runtime / host.name / 'app.sqlite'}",
                WEB_CONCURRENCY="2",
            )
            self.app_hosts.append(AppHost(host, env, runtime / f"{host.name}.log"))

    def migrate_once(self) -> None:
        """`flask db upgrade` once (the first host's database), then that database copied to the
        others: each host has its own SQLite file here, standing for the one shared database."""
        first = self.app_hosts[0]
        flask = str(self.project / ".venv/bin/flask")
        result = subprocess.run(
            [flask, "--app", f"{PACKAGE}.cli", "db", "upgrade"],
            cwd=self.project,
            env=first.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        database = self.runtime / first.host.name / "app.sqlite"
        for app_host in self.app_hosts[1:]:
            (self.runtime / app_host.host.name / "app.sqlite").write_bytes(database.read_bytes())

    def firewall(self) -> None:
        rules = self.project / "deploy" / "nftables" / f"{self.project.name}.nft.example"
        for app_host in self.app_hosts:
            local = self.runtime / f"{app_host.host.name}.nft"
            local.write_text(localized(rules.read_text(), self.addresses))
            self.net.run_in(app_host.host, ["nft", "-f", str(local)])

    def start(self, app_host: AppHost, **env: str) -> None:
        argv = [str(self.project / ".venv/bin/gunicorn"), "-c", "deploy/gunicorn.conf.py", f"{PACKAGE}.wsgi:app"]
        app_host.process = self.net.popen_in(app_host.host, argv, {**app_host.env, **env}, app_host.log, self.project)

    def wait_listening(self, app_host: AppHost) -> None:
        process = app_host.process
        assert process is not None
        wait_until(
            lambda: port_open(APP_PORT, app_host.host.address) or process.poll() is not None,
            f"gunicorn on {app_host.host.name}",
        )
        assert process.poll() is None, app_host.log.read_text()[-3000:]

    def get_from(
        self, source: Host, address: str, path: str, headers: dict[str, str], timeout: float = 5
    ) -> dict[str, Any]:
        """GET http://address{path} from inside source's namespace."""
        out = self.net.run_in(source, [sys.executable, "-c", CLIENT, address, path, json.dumps(headers), str(timeout)])
        return json.loads(out)

    def start_nginx(self) -> int:
        """The generated site with the several-hosts upstream, on a loopback port (returned)."""
        nginx = nginx_binary()
        require(nginx is not None, "nginx is not installed (apt-get install nginx)")
        assert nginx is not None
        port = free_port()
        site = hosts_site(self.project, self.runtime / "site", self.addresses)
        directory = self.runtime / "nginx"
        conf = local_nginx_conf(site, directory, port=port, socket_path=self.runtime / "unused.sock")
        self.nginx = subprocess.Popen(
            [nginx, "-p", str(directory), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        nginx_process = self.nginx
        wait_until(lambda: port_open(port) or nginx_process.poll() is not None, "nginx")
        assert nginx_process.poll() is None, (directory / "logs" / "error.log").read_text()
        return port

    def nginx_workers(self) -> str:
        """The process ids of Nginx's workers (a reload replaces them)."""
        assert self.nginx is not None
        return Path(f"/proc/{self.nginx.pid}/task/{self.nginx.pid}/children").read_text()

    def until_answered_by(self, app_host: AppHost, port: int, method: str) -> tuple[int, list[tuple[str, str]]]:
        """Requests of method through Nginx until app_host answers one (Nginx tries a failed host
        again after its fail_timeout): the status the client got, and who answered it (host, status)."""
        deadline = time.monotonic() + REJOIN_TIMEOUT
        n = 0
        while time.monotonic() < deadline:
            n += 1
            rid = f"once-{method}-{n}"
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=("127.0.0.90", 0))
            try:
                body = json.dumps({"name": rid}) if method == "POST" else None
                headers = {"Host": DOMAIN, "X-Request-ID": rid, "Content-Type": "application/json"}
                connection.request(method, "/items", body=body, headers=headers)
                status = connection.getresponse().status
            finally:
                connection.close()
            answered = self.served_by().get(rid, [])
            if any(name == app_host.host.name for name, _ in answered):
                # The host that gave the client its answer logs it just after sending it.
                settle = time.monotonic() + 2
                while not any(code == str(status) for _, code in answered) and time.monotonic() < settle:
                    time.sleep(0.05)
                    answered = self.served_by().get(rid, [])
                return status, answered
            time.sleep(0.1)
        return 0, []

    def served_by(self) -> dict[str, list[tuple[str, str]]]:
        """Request id -> (host, status) of each host that answered it (its access log)."""
        answers: dict[str, list[tuple[str, str]]] = {}
        for app_host in self.app_hosts:
            for line in app_host.served():
                status = line.split('" ', 1)[1].split(" ", 1)[0]
                answers.setdefault(line.rsplit("rid=", 1)[1], []).append((app_host.host.name, status))
        return answers


@contextmanager
def running_fleet(project: Path) -> Iterator[Fleet]:
    """Three app hosts migrated once and serving, behind Nginx; everything stopped at the end."""
    runtime = Path(tempfile.mkdtemp(prefix="fg-hosts-"))
    try:
        with private_network("fgh") as net:
            fleet = Fleet(project, net, runtime)
            try:
                fleet.migrate_once()
                for app_host in fleet.app_hosts:
                    fleet.start(app_host)
                for app_host in fleet.app_hosts:
                    fleet.wait_listening(app_host)
                yield fleet
            finally:
                stop(fleet.nginx, signal.SIGQUIT)
                for app_host in fleet.app_hosts:
                    stop(app_host.process)
    finally:
        subprocess.run(["rm", "-rf", str(runtime)], check=False)


def rejoined(app_host: AppHost, since: float) -> float | None:
    """Seconds from since until app_host answered a request again (None: not within REJOIN_TIMEOUT)."""
    lines = len(app_host.served())
    while time.monotonic() - since < REJOIN_TIMEOUT:
        if len(app_host.served()) > lines:
            return round(time.monotonic() - since, 2)
        time.sleep(0.1)
    return None


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default variant with SQLite (its own database file per host here)."""
    project = make_project(tmp_path_factory.mktemp("hosts"), database="sqlite")
    install(project)
    return project


def test_the_several_hosts_upstream_holds_the_promised_settings(tmp_path: Path) -> None:
    """The proxy's configuration as deploy/README.md makes it (the site with the several-hosts
    upstream), parsed: what the live test below relies on, checked where it cannot run."""
    import crossplane

    project = make_project(tmp_path, database="sqlite")
    payload = crossplane.parse(str(hosts_site(project, tmp_path / "site", {})), single=True, check_ctx=False)
    parsed = payload["config"][0]["parsed"]

    def args_of(block: list[dict[str, Any]], name: str) -> list[list[str]]:
        return [d["args"] for d in block if d["directive"] == name]

    (upstream,) = [d["block"] for d in parsed if d["directive"] == "upstream"]
    servers = args_of(upstream, "server")
    assert [s[0] for s in servers] == [f"{address}:{APP_PORT}" for address in EXAMPLE_HOSTS]
    assert all({"max_fails=1", "fail_timeout=5s"} <= set(s) for s in servers), servers
    assert args_of(upstream, "keepalive") == [["16"]]
    # Nginx drops an idle upstream connection before Gunicorn would close it under a request.
    gunicorn_keepalive = re.search(r"(?m)^keepalive = (\d+)", (project / "deploy/gunicorn.conf.py").read_text())
    assert gunicorn_keepalive and args_of(upstream, "keepalive_timeout") == [["4s"]]
    assert int(gunicorn_keepalive[1]) > 4, gunicorn_keepalive
    (main,) = [d for d in parsed if d["directive"] == "server" and [DOMAIN] in args_of(d["block"], "server_name")]
    (root,) = [d["block"] for d in main["block"] if d["directive"] == "location" and d["args"] == ["/"]]
    assert args_of(root, "proxy_http_version") == [["1.1"]] and ["Connection", ""] in args_of(root, "proxy_set_header")
    assert args_of(root, "proxy_connect_timeout") == [["1s"]]
    # Idempotent requests only: without non_idempotent, Nginx never sends a POST/PATCH/LOCK twice.
    assert args_of(root, "proxy_next_upstream") == [["error", "timeout", "http_502", "http_503"]]
    assert args_of(root, "proxy_next_upstream_tries") == [["2"]]
    assert args_of(root, "proxy_next_upstream_timeout") == [["10s"]]


@pytest.mark.live
def test_three_hosts_ride_out_a_cut_a_kill_and_a_dead_database(project: Path, record_property: Any) -> None:
    figures: dict[str, Any] = {}
    with running_fleet(project) as fleet:
        load = Load(fleet.start_nginx())
        load.start()
        try:
            workers = fleet.nginx_workers()
            time.sleep(2)
            figures["hosts serving at start"] = sum(1 for h in fleet.app_hosts if h.served())
            h1, h2, h3 = fleet.app_hosts

            # The scraper's namespace probes and scrapes each host by its address, and cannot name
            # another client address or scheme: the redirect of /items//1 shows the scheme the
            # app saw, Gunicorn's access log (after the app ran) the client address.
            address = f"{h1.host.address}:{APP_PORT}"
            figures["probe by IP: status"] = fleet.get_from(fleet.scraper, address, "/readyz", {})["status"]
            figures["scrape each host: statuses"] = [
                fleet.get_from(fleet.scraper, f"{h.host.address}:{APP_PORT}", "/metrics", {})["status"]
                for h in fleet.app_hosts
            ]
            spoofing = {"Host": DOMAIN, "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https"}
            spoofed = fleet.get_from(fleet.scraper, address, "/items//1", {**spoofing, "X-Request-ID": "spoof-1"})
            figures["direct request: scheme the app saw"] = (spoofed.get("location") or "").split("://")[0]
            seen = [line.split(" ")[0] for line in h1.served() if line.endswith("rid=spoof-1")]
            figures["direct request: address the app saw"] = seen[0] if seen else None

            # The firewall as deploy/README.md loads it: the outsider no longer reaches the port.
            fleet.firewall()
            figures["firewall: outsider reaches the app port"] = (
                fleet.get_from(fleet.outsider, address, "/healthz", {}, timeout=1)["status"] != 0
            )
            figures["firewall: scraper still probes"] = fleet.get_from(fleet.scraper, address, "/readyz", {})["status"]

            # 1. A host cut off the network, then back.
            cut = time.monotonic()
            fleet.net.cut(h3.host)
            time.sleep(CUT_SECONDS)
            fleet.net.restore(h3.host)
            restored = time.monotonic()
            figures["cut: seconds until it serves again"] = rejoined(h3, restored)

            # 2. A host killed (master and workers at once), then started again.
            assert h2.process is not None
            killed = time.monotonic()
            os.killpg(h2.process.pid, signal.SIGKILL)  # its own session
            h2.process.wait()
            time.sleep(KILL_SECONDS)
            fleet.start(h2)
            fleet.wait_listening(h2)
            figures["kill: seconds until it serves again"] = rejoined(h2, time.monotonic())

            # 3. A host whose database is down: restarted with its database out of reach.
            stop(h1.process)
            fleet.start(h1, DATABASE_URL=f"sqlite:///{fleet.runtime / 'gone' / 'app.sqlite'}")
            fleet.wait_listening(h1)
            database_down = time.monotonic()
            time.sleep(DATABASE_DOWN_SECONDS)
            finished = time.monotonic()
            figures["nginx reloaded"] = fleet.nginx_workers() != workers
        finally:
            load.stop()
        # With the load stopped, one request of each kind until the host with its database down
        # gets it: a GET goes on to another host, a POST is answered by that host alone.
        for method in ("POST", "GET"):
            status, hosts = fleet.until_answered_by(h1, load.port, method)
            figures[f"database down: {method} h1 answered, client got"] = status
            figures[f"database down: {method} h1 answered, answered by"] = hosts
        served_by = fleet.served_by()

    during_cut = load.started(cut, restored)
    figures["cut: requests"] = len(during_cut)
    figures["cut: failed"] = len(failed(during_cut))
    figures["cut: stall seconds"] = round(stall(load.answers, cut, restored), 2)
    figures["cut: slowest request seconds"] = round(max(a.end - a.start for a in during_cut), 2)
    # Sent to the host just before or as it was cut (in flight, or on a kept-alive connection):
    # answered once the link was back; over a cut longer than proxy_read_timeout, they would fail.
    figures["cut: requests held until the link came back"] = sum(
        1 for a in load.started(cut - 1, restored) if a.end >= restored and a.end - a.start > 2
    )
    during_kill = load.started(killed, killed + KILL_SECONDS)
    figures["kill: requests"] = len(during_kill)
    figures["kill: failed"] = len(failed(during_kill))
    during_outage = load.started(database_down, finished)
    figures["database down: requests"] = len(during_outage)
    figures["database down: 503 %"] = round(
        100 * sum(a.status == 503 for a in during_outage) / max(1, len(during_outage)), 1
    )
    posts = [a for a in during_outage if a.method == "POST"]
    figures["database down: 503 % of POSTs"] = round(100 * sum(a.status == 503 for a in posts) / max(1, len(posts)), 1)
    # Which requests h1 answered 503, and whether Nginx sent them on: GETs yes, POSTs never.
    by_h1 = [a for a in during_outage if ("h1", "503") in served_by.get(a.rid, [])]
    figures["database down: GETs h1 answered 503"] = sum(a.method == "GET" for a in by_h1)
    figures["database down: of those, answered 200 by another host"] = sum(
        a.method == "GET" and a.status == 200 for a in by_h1
    )
    figures["database down: POSTs h1 answered 503"] = sum(a.method == "POST" for a in by_h1)
    figures["database down: of those, sent to another host"] = sum(
        a.method == "POST" and len(served_by[a.rid]) > 1 for a in by_h1
    )
    for name, value in figures.items():
        record_property(name, value)
    print(json.dumps(figures, indent=1))

    assert figures["hosts serving at start"] == 3, figures
    assert figures["probe by IP: status"] == 200, figures
    assert figures["scrape each host: statuses"] == [200, 200, 200], figures
    assert figures["direct request: scheme the app saw"] == "http", figures
    assert figures["direct request: address the app saw"] == fleet.scraper.address, figures
    assert not figures["firewall: outsider reaches the app port"], figures
    assert figures["firewall: scraper still probes"] == 200, figures
    assert figures["cut: stall seconds"] <= 2 and figures["cut: failed"] <= 2, figures
    assert figures["kill: failed"] <= 2, figures
    assert figures["database down: 503 %"] <= 5, figures
    assert figures["database down: POST h1 answered, client got"] == 503, figures
    assert figures["database down: POST h1 answered, answered by"] == [("h1", "503")], figures
    assert figures["database down: GET h1 answered, client got"] == 200, figures
    assert ("h1", "503") in figures["database down: GET h1 answered, answered by"], figures
    assert len(figures["database down: GET h1 answered, answered by"]) == 2, figures
    assert (
        figures["database down: of those, answered 200 by another host"]
        == figures["database down: GETs h1 answered 503"]
    ), figures
    assert figures["database down: of those, sent to another host"] == 0, figures
    assert figures["cut: seconds until it serves again"] is not None, figures
    assert figures["kill: seconds until it serves again"] is not None and not figures["nginx reloaded"], figures
