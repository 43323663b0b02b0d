"""Deployment facts and checks: Gunicorn settings (gunicorn.conf.py files and command lines in a
Procfile, Dockerfile, compose file, systemd unit or shell script), Nginx site configs (parsed
with crossplane), and what command files start in production (the dev server, debug mode,
literal secrets)."""

from __future__ import annotations

import ast
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flaskgen.audit.paths import NON_PRODUCTION_WORDS, words
from flaskgen.audit.python_checks import Hit, env_lookup, literal_text

SLOW_CLIENT_LIMIT_SECONDS = 60
"""Nginx's own default for client_header/body_timeout; an explicit value above it is a choice to
let slow clients hold connections longer."""
PUBLIC_HOSTS = {"0.0.0.0", "::", "[::]", ""}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
# A location whose path or settings say it streams (SSE, websockets, long polling): buffering off
# is what it needs there.
STREAMING_PATH = re.compile(r"stream|sse|event|socket|\bws\b|websocket|live|push|subscribe|notif", re.IGNORECASE)


@dataclass(frozen=True)
class GunicornConfig:
    """Gunicorn settings from one place: a config file (`timeout = 0`) or a command line
    (`--timeout 0`). Each value carries the line it was set on."""

    path: Path
    origin: str
    """"config" (a gunicorn.conf.py) or the kind of command file ("dockerfile", "procfile", ...)."""
    binds: tuple[tuple[str, int], ...] = ()
    workers: tuple[int, int] | None = None
    worker_class: str | None = None
    timeout: tuple[int, int] | None = None
    graceful_timeout: int | None = None
    workers_from_cpus: bool = False
    """The worker count is computed from the CPU count (`multiprocessing.cpu_count() * 2 + 1`)."""
    workers_env: tuple[str, ...] = ()
    """Environment variables the worker count is read from first (`os.getenv("WORKERS", ...)`)."""

    @property
    def effective_worker_class(self) -> str:
        """Gunicorn's default is sync; a class read from a variable the audit cannot resolve is "?"."""
        if self.worker_class is None:
            return "sync"
        name = self.worker_class.strip("'\"")
        if "$" in name or "{" in name:
            return "?"
        return {"gevent.GeventWorker": "gevent", "egg:meinheld#gunicorn_worker": "meinheld"}.get(
            name.removeprefix("gunicorn.workers.").removeprefix("ggevent."), name
        )


def split_bind(bind: str) -> tuple[str, str]:
    """`0.0.0.0:8000` -> ("0.0.0.0", "8000"); `[::]:80` -> ("[::]", "80"); `8000` -> ("", "8000")."""
    if bind.startswith("["):
        host, _, port = bind.partition("]")
        return host + "]", port.lstrip(":")
    if bind.isdigit() or bind.startswith("$") or bind.startswith("{"):
        return "", bind
    host, _, port = bind.rpartition(":")
    return host, port


def is_public(bind: str) -> bool:
    """0.0.0.0:8000, [::]:8000, :8000 and a bare port are reachable from other hosts."""
    if bind.startswith(("unix:", "fd://")):
        return False
    return split_bind(bind)[0] in PUBLIC_HOSTS


def is_platform_port(bind: str) -> bool:
    """A bind on $PORT: the platform (Heroku-style, Cloud Run, Render, ...) assigns the port and its
    router is the proxy in front."""
    return "PORT" in split_bind(bind)[1]


# --- Gunicorn command lines ---------------------------------------------------------------

LAUNCHERS = {"exec", "sh", "bash", "-c", "env", "nohup", "sudo", "-u", "--", "poetry", "pipenv", "uv", "run",
             "-m", "&&", ";", "then", "do"}  # fmt: skip
_FLAGS = {"-b": "bind", "--bind": "bind", "-w": "workers", "--workers": "workers", "-k": "worker_class",
          "--worker-class": "worker_class", "-t": "timeout", "--timeout": "timeout"}  # fmt: skip


def _options(path: Path, origin: str, line: int, argv: list[str]) -> GunicornConfig:
    binds: list[str] = []
    values: dict[str, str] = {}
    i = 0
    while i < len(argv):
        key, _, inline = argv[i].partition("=")
        if key in _FLAGS:
            value = inline if inline else (argv[i + 1] if i + 1 < len(argv) else "")
            if _FLAGS[key] == "bind":
                binds.append(value)
            else:
                values[_FLAGS[key]] = value
            i += 1 if inline else 2
            continue
        i += 1

    def at_line(name: str) -> tuple[int, int] | None:
        return (int(values[name]), line) if values.get(name, "").isdigit() else None

    return GunicornConfig(
        path, origin, tuple((bind, line) for bind in binds), at_line("workers"), values.get("worker_class"),
        at_line("timeout"),
    )  # fmt: skip


def _split(command: str) -> list[str]:
    try:
        return shlex.split(command, comments=True)
    except ValueError:
        return command.split()


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Lines with backslash continuations joined (shell scripts, Dockerfiles), numbered by their first line."""
    start, pending = 0, ""
    for number, line in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield start, pending + line
        pending = ""
    if pending:
        yield start, pending


_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-=]([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def expand(command: str, variables: dict[str, str]) -> str:
    """${NAME:-default} -> its known value, else the default; $NAME -> its known value (else kept)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        if name in variables:
            return variables[name]
        return match.group(2) if match.group(2) is not None else match.group(0)

    return _REFERENCE.sub(value, command)


def shell_variables(text: str) -> dict[str, str]:
    """NAME=value / NAME=${NAME:-default} / ENV NAME=value assignments in a script or Dockerfile."""
    variables: dict[str, str] = {}
    for _number, line in logical_lines(text):
        match = re.match(r"^\s*(?:export\s+|ENV\s+|ARG\s+)?([A-Z_][A-Z0-9_]*)=(\S*)", line)
        if match:
            variables[match.group(1)] = expand(match.group(2).strip("'\""), variables)
    return variables


def commands(text: str, kind: str) -> Iterator[tuple[int, list[str]]]:
    """(line, argv) of each command a file runs, with Dockerfile/compose/Procfile/systemd prefixes
    removed, continuations joined and known variables expanded."""
    variables = shell_variables(text) if kind in ("script", "dockerfile") else {}
    for number, line in logical_lines(text):
        command = line.strip()
        command = re.sub(
            r"^(CMD|ENTRYPOINT|RUN|ExecStart=|command\s*[:=]|entrypoint:|[\w.-]+:(?=\s)|-)\s*",
            "",
            command,
            flags=re.IGNORECASE,
        )
        argv: list[str] | None = None
        if command.startswith("["):
            try:
                loaded = json.loads(command)
                argv = [str(x) for x in loaded] if isinstance(loaded, list) else None
            except ValueError:
                argv = None
        if argv is None:
            argv = _split(expand(command.strip("'\""), variables))
        else:
            argv = [expand(arg, variables) for arg in argv]
        yield number, argv


def gunicorn_commands(path: Path, text: str, kind: str) -> Iterator[GunicornConfig]:
    """Gunicorn invocations in a Procfile, Dockerfile, compose file, systemd unit or shell script."""
    if "gunicorn" not in text:
        return
    for number, argv in commands(text, kind):
        # "sh -c 'gunicorn ...'", "exec gunicorn ...", "python -m gunicorn ...": start at the gunicorn word.
        for start, word in enumerate(argv):
            if Path(word).name == "gunicorn" or (word == "-m" and argv[start + 1 : start + 2] == ["gunicorn"]):
                if all(_launcher(w) for w in argv[:start]):  # not `pip install gunicorn`
                    yield _options(path, kind, number, argv[start + 1 :])
                break
            if "gunicorn" in word and " " in word:  # sh -c "gunicorn ..." as one argument
                yield from gunicorn_commands(path, word, kind)
                break


def _launcher(word: str) -> bool:
    """Words that may come before the program in a command: exec, sh -c, env, uv run, VAR=value, ..."""
    return word in LAUNCHERS or "/" in word or bool(re.fullmatch(r"\w+=\S*|python[\d.]*", word))


CPU_COUNT = re.compile(r"cpu_count|sched_getaffinity")


def gunicorn_config_file(path: Path, tree: ast.Module) -> GunicornConfig:
    """bind/workers/worker_class/timeout in a gunicorn.conf.py: literal values, and the defaults
    of environment lookups (`os.getenv("PORT", "8000")`)."""
    binds: list[tuple[str, int]] = []
    workers = timeout = graceful = None
    worker_class = None
    from_cpus = False
    workers_env: tuple[str, ...] = ()
    cpu_names = {  # cores = multiprocessing.cpu_count()
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign) and CPU_COUNT.search(ast.unparse(node.value))
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        name, value = node.targets[0].id, node.value
        number = value.value if isinstance(value, ast.Constant) and type(value.value) is int else None
        if name == "bind":
            items = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
            binds += [(text, node.lineno) for item in items if (text := literal_text(item)) is not None]
        elif name == "workers" and number is not None:
            workers = (number, node.lineno)
        elif name == "workers":
            used = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
            from_cpus = bool(CPU_COUNT.search(ast.unparse(value))) or bool(used & cpu_names)
            workers_env = tuple(lookup[0] for n in ast.walk(value) if (lookup := env_lookup(n)) is not None)
        elif name == "graceful_timeout":
            text = literal_text(value)
            graceful = int(text) if text and text.isdigit() else None
        elif name == "worker_class":
            worker_class = literal_text(value) or "{?}"
        elif name == "timeout" and number is not None:
            timeout = (number, node.lineno)
    return GunicornConfig(
        path, "config", tuple(binds), workers, worker_class, timeout, graceful, from_cpus, workers_env
    )


def embedded_gunicorn(path: Path, tree: ast.Module) -> GunicornConfig:
    """Gunicorn run from Python (a `gunicorn.app.base.BaseApplication` subclass, e.g. a manage.py
    command): the worker class of its options mapping, Gunicorn's sync default when it sets none.
    Its bind and worker count are runtime values and are not read."""
    worker_class = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value in ("worker_class", "worker-class", "k"):
                    worker_class = literal_text(value) or "{?}"
    return GunicornConfig(path, "code", worker_class=worker_class)


def web_concurrency(text: str) -> Iterator[tuple[int, int]]:
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.search(r"WEB_CONCURRENCY[\"']?\s*[=:]\s*[\"']?(\d+)", line)
        if match:
            yield int(match.group(1)), number


# --- Compose files -------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """A port a compose service publishes on the host."""

    service: str
    target: str
    """The container's port."""
    host_ip: str
    line: int


@dataclass(frozen=True)
class ComposeServices:
    proxies: tuple[str, ...]
    """Services that run a reverse proxy (an nginx/traefik/caddy/haproxy/envoy image, or built
    from a folder named for one)."""
    published: tuple[Published, ...]


def yaml_nodes(text: str) -> list[Any]:
    """The documents of a YAML text as position-carrying nodes ([] when it does not parse)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return [node for node in yaml.compose_all(text, Loader=loader) if node is not None]
    except yaml.YAMLError:
        return []


def mapping(node: Any) -> dict[str, Any]:
    """A YAML mapping node as {key: value node} (scalar keys only)."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _port(entry: Any) -> tuple[str, str] | None:
    """(container port, host address) of one `ports:` entry, short (`"127.0.0.1:80:8000"`) or long syntax."""
    import yaml

    if isinstance(entry, yaml.ScalarNode):
        parts = str(entry.value).split("/")[0].rsplit(":", 2)
        return parts[-1], parts[0] if len(parts) == 3 else ""
    long = mapping(entry)
    if "target" in long:
        return str(long["target"].value), str(long["host_ip"].value) if "host_ip" in long else ""
    return None


def compose_services(text: str) -> ComposeServices:
    """Proxy services and published ports of a compose file."""
    proxies_: list[str] = []
    published: list[Published] = []
    for document in yaml_nodes(text):
        for name, service in mapping(mapping(document).get("services")).items():
            settings = mapping(service)
            image = getattr(settings.get("image"), "value", "") or ""
            build = settings.get("build")
            context = str(getattr(mapping(build).get("context", build), "value", "") or "")
            if PROXY_NAMES.search(str(image)) or PROXY_NAMES.search(context):
                proxies_.append(name)
                continue
            for entry in getattr(settings.get("ports"), "value", None) or []:
                port = _port(entry)
                if port is not None:
                    published.append(Published(name, port[0], port[1], entry.start_mark.line + 1))
    return ComposeServices(tuple(proxies_), tuple(published))


PROXY_NAMES = re.compile(r"(^|[/.-])(nginx|traefik|caddy|haproxy|envoy(proxy)?)\b", re.IGNORECASE)


# --- What command files start ---------------------------------------------------------------

DEV_SERVER = re.compile(
    r"(^|\s|/)(flask(\s+--?[\w-]+(=\S+|\s+\S+)?)*\s+run\b|python3?\s+(-m\s+flask\s+run|\S*manage\.py\s+(run|runserver)\b))"
)
DEBUG_ENV = re.compile(
    r"(?<![\w$])(((?:FLASK_|APP_)?DEBUG)['\"]?\s*[=:]\s*['\"]?(1|true|True|TRUE|on|yes)\b|FLASK_ENV\s*[=:]\s*['\"]?development\b)"
)
SECRET_ENV = re.compile(r"^\s*(?:ENV\s+|-\s+|Environment=)?['\"]?(\w*SECRET_KEY)['\"]?\s*[=:]\s*['\"]?([^'\"\s$]\S*)")


def started_scripts(text: str, kind: str) -> Iterator[tuple[int, str]]:
    """(line, path) of each Python file a command runs directly: `python app.py`, `CMD python wsgi.py`,
    `python -m app.run` (as `app/run.py` and `app/run/__main__.py`)."""
    for number, argv in commands(text, kind):
        for i, word in enumerate(argv[:-1]):
            if not re.fullmatch(r"(\S*/)?python[\d.]*", word):
                continue
            if argv[i + 1].endswith(".py"):
                yield number, argv[i + 1]
            elif argv[i + 1] == "-m" and i + 2 < len(argv) and re.fullmatch(r"[\w.]+", argv[i + 2]):
                module = argv[i + 2].replace(".", "/")
                if argv[i + 2] not in ("flask", "gunicorn", "pip", "uvicorn", "celery", "rq", "alembic", "pytest"):
                    yield number, f"{module}.py"
                    yield number, f"{module}/__main__.py"


def production_lines(text: str) -> Iterator[tuple[int, str]]:
    """Logical lines without comments and without the branches of a shell `case` or the shell
    functions named for development (`dev_server)`, `debug)`, `run_dev() {`)."""
    scope: set[str] = set()
    for number, line in logical_lines(text):
        stripped = line.strip()
        if stripped.startswith("#"):
            continue
        label = re.match(r"^([\w|*\-\"' ]+)\)\s*$", stripped) or re.match(
            r"^(?:function\s+)?([\w-]+)\s*\(\)\s*\{?$", stripped
        )
        if label:
            scope = words(label.group(1))
        elif stripped in (";;", "}", "esac"):
            scope = set()
        if not scope & NON_PRODUCTION_WORDS:
            yield number, line


DEV_VALUE_WORDS = {"dev", "develop", "development", "debug"}
TRUTHY = {"1", "true", "yes", "on"}


def dockerfile_env(line: str) -> list[tuple[str, str]]:
    """(name, value) pairs of one `ENV` instruction: `ENV A=1 B="x y"` (continuations already
    joined) or the legacy `ENV NAME value`."""
    match = re.match(r"^\s*ENV\s+(.*)$", line, re.IGNORECASE)
    if not match:
        return []
    body = match.group(1).strip()
    words_ = _split(body)
    if words_ and "=" not in words_[0]:
        return [(words_[0], " ".join(words_[1:]))]
    return [tuple(w.split("=", 1)) for w in words_ if "=" in w]  # type: ignore[misc]


def env_problem(name: str, value: str, kind: str) -> tuple[str, str] | None:
    """(code, message) for one environment setting a production file makes: a literal SECRET_KEY
    (FG601), debug switched on or a development config selected (FG602)."""
    if "$" in value or not value:
        return None
    bare = value.strip("'\"")
    upper = name.upper()
    if re.search(r"(^|_)SECRET_KEY$", upper):
        return "FG601", f"{name} is the literal {bare[:8]!r}... in {kind} settings"
    # The project's own image may use its own prefix (MYAPP_DEBUG); elsewhere (a compose file or a
    # pod with other services' containers) only Flask's and the common names are the app's.
    own = kind == "dockerfile"
    debug = re.fullmatch(r"(\w+_)?DEBUG" if own else r"(FLASK_|APP_)?DEBUG", upper)
    if debug and bare.lower() in TRUTHY:
        return "FG602", f"{name}={bare} switches on debug mode"
    camel = re.sub(r"([a-z])([A-Z])", r"\1_\2", bare)
    selector = r"(\w+_)?" if own else r"(FLASK_|APP_)?"
    if re.fullmatch(selector + CONFIG_NAMES, upper) and words(camel) & DEV_VALUE_WORDS:
        return "FG602", f"{name}={bare} selects a development configuration"
    return None


CONFIG_NAMES = r"(ENV|ENVIRONMENT|CONFIG|SETTINGS|CONFIGURATION|CONFIG_NAME|SETTINGS_MODULE)"


def dev_server_lines(text: str, kind: str) -> Iterator[Hit]:
    """FG604 `flask run` / `manage.py run`; FG602 FLASK_DEBUG=1; FG601 a literal secret: in a production
    Dockerfile, compose file, Procfile, systemd unit or entrypoint script."""
    for number, line in production_lines(text):
        stripped = line.strip()
        if kind == "dockerfile" and stripped.upper().startswith("ENV"):
            found = {}
            for name, value in dockerfile_env(stripped):
                problem = env_problem(name, value, kind)
                if problem is not None:
                    found.setdefault(problem[0], problem[1])
            yield from (Hit(code, number, message) for code, message in sorted(found.items()))
            continue
        if kind != "compose" or re.match(r"\s*(command|entrypoint)\s*:", line) or "-c" in line:
            match = DEV_SERVER.search(re.sub(r"\s+", " ", re.sub(r"[\[\]\"',]", " ", stripped)))
            if match and not re.search(r"\b(flask\s+run)\b.*--help", stripped):
                yield Hit("FG604", number, f"{match.group(0).strip()!r} starts the development server")
        if DEBUG_ENV.search(stripped) and not stripped.startswith(("ARG ", "RUN ", "if ")):
            yield Hit("FG602", number, f"{DEBUG_ENV.search(stripped).group(0)} switches on debug mode")  # type: ignore[union-attr]
        secret = SECRET_ENV.match(line)
        if secret and kind in ("dockerfile", "compose", "systemd"):
            yield Hit(
                "FG601", number, f"{secret.group(1)} is the literal {secret.group(2)[:8]!r}... in {kind} settings"
            )


# --- Nginx --------------------------------------------------------------------------------


def walk_directives(block: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every directive of a crossplane-parsed block, nested blocks included, in file order."""
    for directive in block:
        yield directive
        yield from walk_directives(directive.get("block", []))


def _seconds(value: str) -> float | None:
    match = re.fullmatch(r"(\d+)(ms|s|m|h)?", value)
    if not match:
        return None
    number, unit = int(match.group(1)), match.group(2) or "s"
    return number * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


def _bytes(value: str) -> float | None:
    match = re.fullmatch(r"(\d+)([kKmMgG])?", value)
    if not match:
        return None
    return int(match.group(1)) * 1024 ** " kmg".index((match.group(2) or " ").lower())


def parse_nginx(path: Path) -> list[dict[str, Any]] | None:
    """The directives of one config file (includes not followed), or None when it is not Nginx."""
    import crossplane

    payload = crossplane.parse(str(path), single=True, check_ctx=False, check_args=False, catch_errors=True)
    if payload["status"] != "ok" or not payload["config"]:
        return None
    return payload["config"][0]["parsed"]


def proxies(parsed: list[dict[str, Any]]) -> bool:
    return any(d["directive"] in ("proxy_pass", "uwsgi_pass") for d in walk_directives(parsed))


def upstream_addresses(parsed: list[dict[str, Any]]) -> Iterator[str]:
    """host:port of each proxy_pass target, upstream blocks resolved (`unix:` paths as they are)."""
    upstreams = {
        d["args"][0]: [s["args"][0] for s in d.get("block", []) if s["directive"] == "server" and s["args"]]
        for d in walk_directives(parsed)
        if d["directive"] == "upstream" and d["args"]
    }
    for directive in walk_directives(parsed):
        if directive["directive"] == "proxy_pass" and directive["args"]:
            target = re.sub(r"^https?://", "", directive["args"][0]).split("/")[0]
            yield from upstreams.get(target, [target])


def _is_streaming(location: dict[str, Any]) -> bool:
    settings = " ".join(" ".join(d["args"]) for d in walk_directives(location.get("block", [])))
    return bool(STREAMING_PATH.search(" ".join(location["args"]))) or "Upgrade" in settings


def http_settings(parsed: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The directives of a file's `http {}` block by name (what its servers inherit)."""
    found: dict[str, dict[str, Any]] = {}
    for directive in parsed:
        if directive["directive"] == "http":
            found = {d["directive"]: d for d in directive.get("block", [])}
    return found


def includes(parsed: list[dict[str, Any]]) -> list[str]:
    """The `include` patterns of a file's `http {}` block (`/etc/nginx/conf.d/*.conf`)."""
    return [arg for d in http_settings(parsed).values() if d["directive"] == "include" for arg in d["args"]]


def check_nginx(
    parsed: list[dict[str, Any]],
    *,
    sync_workers: bool | None,
    outer: dict[str, dict[str, Any]] | None = None,
    outer_path: Path | None = None,
) -> Iterator[Hit]:
    """FG202 (client timeouts above Nginx's 60 s default) and FG203 (the body limit switched off)
    once per setting; FG201 (buffering off in front of sync workers, outside streaming
    locations). http-level settings count for the servers of the same file, and `outer`'s (the
    `http {}` of the main config that includes this file, in outer_path) for all of them."""
    inherited = {**{name: {**d, "file": outer_path} for name, d in (outer or {}).items()}, **http_settings(parsed)}
    reported: set[int] = set()
    for server in (d for d in walk_directives(parsed) if d["directive"] == "server" and "block" in d):
        if not proxies(server["block"]):
            continue
        own = {**inherited, **{d["directive"]: d for d in server["block"]}}
        slow = [
            f"{name} {own[name]['args'][0]}"
            for name in ("client_header_timeout", "client_body_timeout")
            if name in own and own[name]["args"]
            and (_seconds(own[name]["args"][0]) or 0) > SLOW_CLIENT_LIMIT_SECONDS
        ]  # fmt: skip
        first = min((own[s.split()[0]] for s in slow), key=lambda d: d["line"], default=None)
        if first is not None and first["line"] not in reported:
            reported.add(first["line"])
            yield Hit(
                "FG202", first["line"], f"{' and '.join(slow)}: a slow client holds a connection that long",
                first.get("file"),
            )  # fmt: skip
        body = own.get("client_max_body_size")
        size = _bytes(body["args"][0]) if body and body["args"] else None
        # A large explicit limit (4G for uploads) is a decision; 0 switches the check off.
        if body and size == 0 and body["line"] not in reported:
            reported.add(body["line"])
            yield Hit(
                "FG203", body["line"], "client_max_body_size 0: request bodies of any size are accepted and buffered",
                body.get("file"),
            )  # fmt: skip
        if sync_workers:
            yield from _buffering_off(server, reported)
            for name in ("proxy_buffering", "proxy_request_buffering"):
                setting = inherited.get(name)
                overridden = any(d["directive"] == name for d in server["block"])
                if setting and setting["args"] == ["off"] and not overridden and setting["line"] not in reported:
                    reported.add(setting["line"])
                    yield Hit("FG201", setting["line"], f"{name} off in front of sync workers", setting.get("file"))


def _buffering_off(server: dict[str, Any], reported: set[int]) -> Iterator[Hit]:
    locations = [d for d in walk_directives(server["block"]) if d["directive"] == "location"]
    streaming = {id(d) for loc in locations if _is_streaming(loc) for d in walk_directives(loc.get("block", []))}
    for directive in walk_directives(server["block"]):
        off = directive["directive"] in ("proxy_buffering", "proxy_request_buffering") and directive["args"] == ["off"]
        if off and id(directive) not in streaming and directive["line"] not in reported:
            reported.add(directive["line"])
            yield Hit("FG201", directive["line"], f"{directive['directive']} off in front of sync workers")
