"""What production command files start: FG604 `flask run`, FG602 debug switched on, FG601 a literal
secret; which command files are production entrypoints and which Python files they start."""

from __future__ import annotations

import re
from collections.abc import Iterator

from flaskgen.audit.facts import ProjectFacts
from flaskgen.audit.model import CommandFile, Hit
from flaskgen.audit.parsers.commands import dockerfile_env, production_lines, started_scripts
from flaskgen.audit.paths import words

DEV_SERVER = re.compile(
    r"(^|\s|/)(flask(\s+--?[\w-]+(=\S+|\s+\S+)?)*\s+run\b|python3?\s+(-m\s+flask\s+run|\S*manage\.py\s+(run|runserver)\b))"
)


DEBUG_ENV = re.compile(
    r"(?<![\w$])(((?:FLASK_|APP_)?DEBUG)['\"]?\s*[=:]\s*['\"]?(1|true|True|TRUE|on|yes)\b|FLASK_ENV\s*[=:]\s*['\"]?development\b)"
)


SECRET_ENV = re.compile(r"^\s*(?:ENV\s+|-\s+|Environment=)?['\"]?(\w*SECRET_KEY)['\"]?\s*[=:]\s*['\"]?([^'\"\s$]\S*)")


# An object store's credential (`MINIO_SECRET_KEY`, `AWS_SECRET_KEY`): a secret, but not Flask's signing key.
STORAGE_KEY = re.compile(r"(^|.*_)(AWS|S3|MINIO|GCS|B2|R2|SPACES|STORAGE)_")


SECRET_NAME = re.compile(r"(^|_)SECRET_KEY$", re.IGNORECASE)


def flask_secret_key(name: str) -> bool:
    """name is the app's signing key (`SECRET_KEY`, `MYAPP_SECRET_KEY`), not an object store's."""
    return SECRET_NAME.search(name) is not None and not STORAGE_KEY.match(name.upper())


DEV_VALUE_WORDS = {"dev", "develop", "development", "debug"}


TRUTHY = {"1", "true", "yes", "on"}


def env_problem(name: str, value: str, kind: str) -> tuple[str, str] | None:
    """(code, message) for one environment setting a production file makes: a literal SECRET_KEY
    (FG601), debug switched on or a development config selected (FG602)."""
    if "$" in value or not value:
        return None
    bare = value.strip("'\"")
    upper = name.upper()
    if flask_secret_key(name):
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
    source = text.splitlines()
    for number, line in production_lines(text):
        stripped = line.strip()
        if kind == "dockerfile" and stripped.upper().startswith("ENV"):
            found: dict[str, tuple[int, str]] = {}
            for name, value in dockerfile_env(stripped):
                problem = env_problem(name, value, kind)
                if problem is not None:  # on the variable's own line of a `\`-continued ENV
                    own = (
                        n
                        for n in range(number, len(source) + 1)
                        if re.match(rf"\s*(ENV\s+)?{name}[=\s]", source[n - 1])
                    )
                    found.setdefault(problem[0], (next(own, number), problem[1]))
            yield from (Hit(code, at, message) for code, (at, message) in sorted(found.items()))
            continue
        if kind != "compose" or re.match(r"\s*(command|entrypoint)\s*:", line) or "-c" in line:
            match = DEV_SERVER.search(re.sub(r"\s+", " ", re.sub(r"[\[\]\"',]", " ", stripped)))
            if match and not re.search(r"\b(flask\s+run)\b.*--help", stripped):
                yield Hit("FG604", number, f"{match.group(0).strip()!r} starts the development server")
        if DEBUG_ENV.search(stripped) and not stripped.startswith(("ARG ", "RUN ", "if ")):
            yield Hit("FG602", number, f"{DEBUG_ENV.search(stripped).group(0)} switches on debug mode")  # type: ignore[union-attr]
        secret = SECRET_ENV.match(line)
        if secret and kind in ("dockerfile", "compose", "systemd") and not STORAGE_KEY.match(secret.group(1).upper()):
            yield Hit(
                "FG601", number, f"{secret.group(1)} is the literal {secret.group(2)[:8]!r}... in {kind} settings"
            )


ENTRYPOINT_STEMS = {"entrypoint", "docker-entrypoint", "boot", "start", "run", "serve", "server", "startup"}


def production_commands(facts: ProjectFacts) -> list[CommandFile]:
    """Production command files; a shell script only when it is an entrypoint (named like one, or
    named by another production command file), and not when only development files run it (a
    `start.sh` that just `compose.dev.yaml` names)."""
    chosen = [c for c in facts.commands if c.production and c.kind != "script"]
    named = " ".join(c.text for c in chosen)
    named_by_dev = " ".join(c.development if c.production else c.text for c in facts.commands if c.kind != "script")
    return chosen + [
        c
        for c in facts.commands
        if c.production
        and c.kind == "script"
        and (c.path.name in named or (c.path.stem.lower() in ENTRYPOINT_STEMS and c.path.name not in named_by_dev))
    ]


def started_modules(facts: ProjectFacts, commands: list[CommandFile]) -> set[str]:
    """Project-relative paths of the Python files production commands run directly (`python wsgi.py`)."""
    modules = [m.relative.as_posix() for m in facts.python]
    started: set[str] = set()
    for command in commands:
        for _line, script in started_scripts(command.text, command.kind):
            wanted = script.lstrip("./")
            started.update(m for m in modules if m == wanted or m.endswith("/" + wanted) or wanted.endswith("/" + m))
    return started
