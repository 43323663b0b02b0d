"""The proxy in front: the client's address and scheme from its X-Forwarded-For/-Proto when the
request comes from the proxy (FORWARDED_ALLOW_IPS, or a unix socket), never from anyone else;
the Host checked against TRUSTED_HOSTS."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask, request, url_for

from {{ cookiecutter.package_name }}.config import ProductionConfig

DOMAIN = "{{ cookiecutter.domain_name }}"
FORWARDED = {"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https"}


def seen(app: Flask, *peers: str) -> list[dict[str, str]]:
    """The client address and scheme the app sees for a request from each peer, with FORWARDED."""

    @app.get("/whoami")
    def whoami() -> dict[str, str]:
        return {"addr": str(request.remote_addr), "scheme": request.scheme}

    client, answers = app.test_client(), []
    for peer in peers:
        environ = {"REMOTE_ADDR": peer}
        response = client.get("/whoami", headers=FORWARDED, environ_base=environ, base_url=f"http://{DOMAIN}")
        assert response.status_code == 200, response.get_data(as_text=True)
        answers.append(response.get_json())
    return answers


@pytest.mark.parametrize(
    ("allowed", "peer"),
    [
        ("127.0.0.1,::1", "127.0.0.1"),
        ("127.0.0.1,::1", "::1"),
        ("10.0.0.0/24", "10.0.0.5"),
        ("*", "192.0.2.1"),
        ("", ""),
    ],
)
def test_the_proxy_names_the_client(make_app: Callable[..., Flask], allowed: str, peer: str) -> None:
    """From the proxy (an allowed address, or a unix socket: no address), its one hop is taken."""
    app = make_app(FORWARDED_ALLOW_IPS=allowed)
    assert seen(app, peer) == [{"addr": "6.6.6.6", "scheme": "https"}]


@pytest.mark.parametrize("allowed", ["127.0.0.1,::1", "", "10.0.0.0/24"])
def test_anyone_else_cannot_name_an_address_or_a_scheme(make_app: Callable[..., Flask], allowed: str) -> None:
    """A request straight from another host (Gunicorn on a network address) keeps its own."""
    app = make_app(FORWARDED_ALLOW_IPS=allowed)
    assert seen(app, "203.0.113.50") == [{"addr": "203.0.113.50", "scheme": "http"}]


def test_production_believes_the_local_proxy_only(make_app: Callable[..., Flask]) -> None:
    """Gunicorn on a network address (GUNICORN_BIND): a request straight from another host with
    X-Forwarded-For: 6.6.6.6 and X-Forwarded-Proto: https is taken for what it is."""
    app = make_app(FORWARDED_ALLOW_IPS=ProductionConfig.FORWARDED_ALLOW_IPS)
    assert seen(app, "127.0.0.1", "203.0.113.50") == [
        {"addr": "6.6.6.6", "scheme": "https"},
        {"addr": "203.0.113.50", "scheme": "http"},
    ]


def test_forwarded_host_never_names_the_app(make_app: Callable[..., Flask]) -> None:
    """X-Forwarded-Host comes from the client (Nginx owns Host): it never names the app's URLs."""
    app = make_app(FORWARDED_ALLOW_IPS="127.0.0.1", TRUSTED_HOSTS=[DOMAIN])

    @app.get("/where/now")
    def where() -> dict[str, str]:
        return {"host": request.host, "url": url_for("health.healthz", _external=True)}

    client = app.test_client()
    spoofed = {"X-Forwarded-Host": "evil.example"}
    body = client.get("/where/now", headers=spoofed, base_url=f"http://{DOMAIN}").get_json()
    assert body == {"host": DOMAIN, "url": f"http://{DOMAIN}/healthz"}
    redirect = client.get("/where//now", headers=spoofed, base_url=f"http://{DOMAIN}")  # merge_slashes
    assert redirect.status_code == 308
    assert "evil.example" not in redirect.headers["Location"]


def test_other_hosts_are_refused(make_app: Callable[..., Flask]) -> None:
    app = make_app(TRUSTED_HOSTS=[DOMAIN])
    client = app.test_client()
    assert client.get("/healthz", base_url=f"http://{DOMAIN}").status_code == 200
    for host in ("evil.example", f"{DOMAIN}.evil.example"):
        response = client.get("/healthz", base_url=f"http://{host}")
        assert response.status_code == 400, host
        assert response.get_json()["error"]["code"] == 400
