"""Check the deployment files with the real tools (`make check-deploy`).

1. `gunicorn --check-config` on deploy/gunicorn.conf.py (loads the app in production mode with a
   throwaway key, so import errors and unsafe settings show up here);
2. `nginx -t` on the site config wrapped in a minimal nginx.conf, with its paths moved into a
   temporary directory and, for TLS, a self-signed certificate made on the fly;
3. `gixy` (PyPI gixy-ng) on the same config, when it is installed;
4. 2 and 3 again with the several-hosts upstream (deploy/nginx/<slug>-upstream-hosts.conf.example)
   in place of the site's own, as deploy/README.md says to put it on the proxy.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLUG = "{{ cookiecutter.project_slug }}"
PACKAGE = "{{ cookiecutter.package_name }}"
SITE = ROOT / "deploy" / "nginx" / f"{SLUG}.conf"
HOSTS_UPSTREAM = ROOT / "deploy" / "nginx" / f"{SLUG}-upstream-hosts.conf.example"
MIME_TYPES = Path("/etc/nginx/mime.types")


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate: nginx -t loads the certificate files the site names."""
    cert, key = directory / "fullchain.pem", directory / "privkey.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def local_site(directory: Path, upstream: Path | None = None) -> str:
    """The site config with its certificate under directory and its listeners on unprivileged
    loopback ports, so nginx -t runs as any user before the server is set up; with upstream, its
    upstream block instead of the site's."""
    text = SITE.read_text()
    if upstream is not None:
        replaced = upstream.read_text()
        text = re.sub(r"^upstream .*?^\}", lambda _: replaced, text, count=1, flags=re.MULTILINE | re.DOTALL)
    if "ssl_certificate " in text:
        cert, key = make_certificate(directory)
        text = re.sub(r"ssl_certificate /\S+;", f"ssl_certificate {cert};", text)
        text = re.sub(r"ssl_certificate_key /\S+;", f"ssl_certificate_key {key};", text)
    text = re.sub(r"^\s*listen \[::\]:\d+.*\n", "", text, flags=re.MULTILINE)
    text = re.sub(r"listen 80\b", "listen 127.0.0.1:8080", text)
    return re.sub(r"listen 443\b", "listen 127.0.0.1:8443", text)


def write_nginx_conf(directory: Path, upstream: Path | None = None) -> Path:
    """A minimal nginx.conf (like a stock one) that includes the site; returns its path."""
    for sub in ("logs", "tmp"):
        (directory / sub).mkdir(exist_ok=True)
    site = directory / f"{SLUG}.conf"
    site.write_text(local_site(directory, upstream))
    mime = f"include {MIME_TYPES};" if MIME_TYPES.exists() else ""
    user = "user root;" if os.geteuid() == 0 else ""
    conf = directory / "nginx.conf"  {%- raw %}
    conf.write_text(
        f"""{user}
worker_processes 1;
worker_rlimit_nofile 2048;
pid {directory}/nginx.pid;
error_log {directory}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    {mime}
    default_type application/octet-stream;
    access_log {directory}/logs/access.log;
    client_body_temp_path {directory}/tmp/body;
    proxy_temp_path {directory}/tmp/proxy;
    fastcgi_temp_path {directory}/tmp/fastcgi;
    uwsgi_temp_path {directory}/tmp/uwsgi;
    scgi_temp_path {directory}/tmp/scgi;
    include {site};
}}
"""
    )  {%- endraw %}
    return conf


def run(step: str, command: list[str], env: dict[str, str] | None = None) -> bool:
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    ok = result.returncode == 0
    print(f"{'ok  ' if ok else 'FAIL'} {step}")
    if not ok:
        print((result.stdout + result.stderr).strip(), file=sys.stderr)
    return ok


def check_gunicorn() -> bool:
    env = {**os.environ, "APP_ENV": "production", "FLASK_SECRET_KEY": secrets.token_hex(32)}
{%- if cookiecutter.auth == "oidc" %}
    # Production requires an issuer; the check never contacts it (keys are fetched on first use).
    env.update(FLASK_OIDC_ISSUER="https://login.example.com", FLASK_OIDC_AUDIENCE="{{ cookiecutter.project_slug }}")
{%- endif %}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    executable = str(gunicorn) if gunicorn.exists() else "gunicorn"
    command = [executable, "--check-config", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), f"{PACKAGE}.wsgi:app"]
    return run("gunicorn --check-config", command, env)


def check_nginx(directory: Path, upstream: Path | None = None) -> bool:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        print("FAIL nginx -t: nginx is not installed (Debian/Ubuntu: apt-get install nginx)")
        return False
    conf = write_nginx_conf(directory, upstream)
    step = "nginx -t (several app hosts)" if upstream else "nginx -t"
    return run(step, [nginx, "-t", "-q", "-p", str(directory), "-c", str(conf)])


def check_gixy(directory: Path, step: str = "gixy") -> bool:
    gixy = shutil.which("gixy") or str(Path(sys.executable).with_name("gixy"))
    if not Path(gixy).exists():
        print("skip gixy: not installed (pip install gixy-ng)")
        return True
    return run(step, [gixy, str(directory / "nginx.conf")])


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    with tempfile.TemporaryDirectory(prefix=f"{SLUG}-deploy-") as tmp, tempfile.TemporaryDirectory() as hosts:
        results = [check_gunicorn(), check_nginx(Path(tmp)), check_gixy(Path(tmp))]
        results += [check_nginx(Path(hosts), HOSTS_UPSTREAM), check_gixy(Path(hosts), "gixy (several app hosts)")]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
