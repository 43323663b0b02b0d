"""The client's address and scheme, from the proxy in front and from nobody else.

Nginx sets X-Forwarded-For to the address it saw (replacing whatever the client sent) and
X-Forwarded-Proto to its own scheme; werkzeug's ProxyFix takes both for that one hop. ProxyFix
alone would believe the same headers from anyone who reaches the app directly, so it applies
only when the peer is the proxy: a unix-socket peer (only Nginx can open the socket) or an
address in FORWARDED_ALLOW_IPS, the setting Gunicorn reads for the same purpose
(deploy/gunicorn.conf.py): addresses or networks, comma-separated, or `*` for any.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING

from werkzeug.middleware.proxy_fix import ProxyFix

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


class FromProxy:
    """WSGI middleware: ProxyFix(x_for=1, x_proto=1) for requests from the proxy, none for others."""

    def __init__(self, wsgi_app: WSGIApplication, allowed: str) -> None:
        self.wsgi_app = wsgi_app
        self.proxied = ProxyFix(wsgi_app, x_for=1, x_proto=1)
        names = allowed.replace("*", "0.0.0.0/0,::/0").split(",")
        self.networks = [ipaddress.ip_network(name.strip(), strict=False) for name in names if name.strip()]

    def is_proxy(self, peer: str) -> bool:
        """No address is a unix socket, which only the proxy can open."""
        try:
            return not peer or any(ipaddress.ip_address(peer) in network for network in self.networks)
        except ValueError:  # not an address
            return False

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        app = self.proxied if self.is_proxy(environ.get("REMOTE_ADDR", "")) else self.wsgi_app
        return app(environ, start_response)
