"""Command files as commands: logical lines (continuations joined), shell variables expanded, the argv
of each command a Dockerfile/compose/Procfile/systemd unit/script runs, the Python files it starts,
the production branches of an entrypoint, a Dockerfile's `ENV` pairs."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator

from flaskgen.audit.paths import NON_PRODUCTION_WORDS, words


def split_words(command: str) -> list[str]:
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
            argv = split_words(expand(command.strip("'\""), variables))
        else:
            argv = [expand(arg, variables) for arg in argv]
        yield number, argv


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


def dockerfile_env(line: str) -> list[tuple[str, str]]:
    """(name, value) pairs of one `ENV` instruction: `ENV A=1 B="x y"` (continuations already
    joined) or the legacy `ENV NAME value`."""
    match = re.match(r"^\s*ENV\s+(.*)$", line, re.IGNORECASE)
    if not match:
        return []
    body = match.group(1).strip()
    words_ = split_words(body)
    if words_ and "=" not in words_[0]:
        return [(words_[0], " ".join(words_[1:]))]
    return [tuple(w.split("=", 1)) for w in words_ if "=" in w]  # type: ignore[misc]
