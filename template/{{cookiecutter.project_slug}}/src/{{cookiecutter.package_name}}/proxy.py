"""The trusted proxy in front (Nginx): the client's address and scheme from the X-Forwarded-For
and X-Forwarded-Proto headers it sets, trusting exactly PROXY_FIX_HOPS proxies. Never
X-Forwarded-Host: the Host header is Nginx's (the server_name it matched), and a client's
X-Forwarded-Host would otherwise name the host of every URL the app builds.

Not werkzeug's ProxyFix, for two reasons found here: ProxyFix reads X-Forwarded-For as an HTTP
list with quoted strings, so a client that puts one `"` in its own X-Forwarded-For (Nginx appends
the address it saw to whatever the client sent) empties the whole list, and the app sees Nginx's
address instead of the client's; and it parses all five X-Forwarded-* headers on every request,
about 4 µs of the app's per-request cost (bench/README.md, overhead). X-Forwarded-For never
carries quoted strings: each proxy appends ", <address>", so the value N from the right is the
one the outermost trusted proxy added, whatever the client put before it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

SCHEMES = frozenset({"http", "https"})


def trusted_value(header: str | None, hops: int) -> str | None:
    """The element `hops` from the right of a comma-separated X-Forwarded-* value (the one the
    outermost of `hops` trusted proxies added), or None when there are fewer elements."""
    if not header:
        return None
    values = header.rsplit(",", hops)  # at most hops + 1 parts, however long the client's part
    if len(values) < hops:
        return None
    return values[-hops].strip() or None


class ProxyHeaders:
    """WSGI middleware: REMOTE_ADDR and wsgi.url_scheme from the trusted proxies' headers."""

    def __init__(self, wsgi_app: WSGIApplication, hops: int) -> None:
        self.wsgi_app = wsgi_app
        self.hops = hops

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        address = trusted_value(environ.get("HTTP_X_FORWARDED_FOR"), self.hops)
        if address:
            environ["REMOTE_ADDR"] = address
        scheme = trusted_value(environ.get("HTTP_X_FORWARDED_PROTO"), self.hops)
        if scheme in SCHEMES:
            environ["wsgi.url_scheme"] = scheme
        return self.wsgi_app(environ, start_response)
