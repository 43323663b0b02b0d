"""Command files as commands: logical lines (continuations joined), shell variables expanded, the argv
of each command a Dockerfile/compose/Procfile/systemd unit/script runs, the Python files it starts,
the production branches of an entrypoint, a Dockerfile's `ENV` pairs."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

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
    """NAME=value / NAME=${NAME:-default} / ENV NAME=value assignments in a script or Dockerfile, and
    the defaults `${NAME:=default}` assigns (`: "${WORKERS:=4}"`)."""
    variables: dict[str, str] = {}
    for _number, line in logical_lines(text):
        for name, default in re.findall(r"\$\{([A-Za-z_]\w*):?=([^}]*)\}", line):
            variables.setdefault(name, expand(default, variables))
        match = re.match(r"^\s*(?:export\s+|ENV\s+|ARG\s+)?([A-Z_][A-Z0-9_]*)=(\S*)", line)
        if match:
            variables[match.group(1)] = expand(match.group(2).strip("'\""), variables)
    return variables


def commands(text: str, kind: str) -> Iterator[tuple[int, list[str]]]:
    """(line, argv) of each command a file runs, with Dockerfile/compose/Procfile/systemd prefixes
    removed, continuations joined and known variables expanded."""
    variables = shell_variables(text) if kind in ("script", "dockerfile") else {}
    if kind == "compose":  # what a `$$NAME` (the container shell's `$NAME`) reads: the services' environment
        variables = dict(re.findall(r"^\s*-?\s*([A-Z_][A-Z0-9_]*)\s*[=:]\s*[\"']?(\w*)", text, re.MULTILINE))
    for number, line in production_lines(text):
        command = line.strip()
        if kind == "compose":  # compose fills ${NAME:-default} from its own environment, not the services'
            command = expand(command.replace("$$", "\0"), {}).replace("\0", "$")
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
            whole = command[:1] in ("'", '"')  # `command: "gunicorn ..."`, not `sh -c "gunicorn ..."`
            argv = split_words(expand(command.strip("'\"") if whole else command, variables))
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
    """Logical lines without comments and without the branches that development selects: a shell
    `case` branch or function named for it (`dev_server)`, `debug)`, `run_dev() {`), the branch of
    an `if` whose test names it (`if [ "$APP_CONFIG" = config.DevelopmentConfig ]; then`, the `else`
    of `if [ "$ENV" = production ]`), a `[ "$DEBUG" = 1 ] && ...` line."""
    scope: set[str] = set()
    branches: list[tuple[bool | None, bool]] = []
    """Open `if`s: (what their first test says: True development, False production, None
    neither; whether the current branch is a development one)."""
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
        test = re.match(r"^(if|elif)\s+(.*?)(?:;\s*then\b.*)?$", stripped)
        in_dev = any(dev for _said, dev in branches)
        if test and test.group(1) == "if":
            said = shell_dev_test(test.group(2))
            if re.search(r"\bfi\s*$", stripped):  # one line: if ...; then ...; fi
                in_dev = in_dev or said is True
            else:
                branches.append((said, said is True))
        elif test and branches:
            branches[-1] = (branches[-1][0], shell_dev_test(test.group(2)) is True)
        elif re.match(r"^else\b", stripped) and branches:
            branches[-1] = (branches[-1][0], branches[-1][0] is False)
        elif re.match(r"^fi\b", stripped) and branches:
            branches.pop()
        chained = re.match(r"^(\[\[?[^]]*\]\]?|test\s[^&|]*)\s*&&", stripped)
        if chained and shell_dev_test(chained.group(1)) is True:
            continue
        if not scope & NON_PRODUCTION_WORDS and not in_dev:
            yield number, line


def camel_words(text: str) -> set[str]:
    """`config.DevelopmentConfig` -> {"config", "development"}: words, camelCase split."""
    return words(re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text))


def shell_dev_test(test: str) -> bool | None:
    """True when a shell test holds in development (`[ "$FLASK_ENV" = development ]`, `[ -n "$DEBUG" ]`),
    False when it holds in production (`[ "$ENV" = production ]`, `[ "$DEBUG" != 1 ]`), else None."""
    found = camel_words(test)
    dev, prod = bool(found & NON_PRODUCTION_WORDS - {"override"}), bool(found & {"prod", "production", "live"})
    if dev == prod:
        return None
    negated = bool(re.search(r"!=|(^|\s)!\s|\s-z\s", test))
    negated ^= bool(re.search(r"=\s*['\"]?(0|false|no|off)['\"]?\s*\]", test, re.IGNORECASE))
    return dev is not negated


@dataclass(frozen=True)
class Stage:
    """One stage of a Dockerfile: `FROM base AS name` to the next FROM."""

    name: str
    base: str
    first: int
    last: int
    uses: frozenset[str]
    """Stages it copies from (`COPY --from=builder`)."""


def dockerfile_stages(text: str) -> list[Stage]:
    found: list[Stage] = []
    uses: set[str] = set()
    total = len(text.splitlines())
    for number, line in logical_lines(text):
        start = re.match(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", line, re.IGNORECASE)
        if start:
            if found:
                found[-1] = Stage(found[-1].name, found[-1].base, found[-1].first, number - 1, frozenset(uses))
            uses = set()
            name = (start.group(2) or str(len(found))).lower()
            found.append(Stage(name, start.group(1).lower(), number, total, frozenset()))
        elif found:
            uses.update(m.lower() for m in re.findall(r"--(?:from|mount=[^\s]*from)=([\w.-]+)", line))
    if found:
        found[-1] = Stage(found[-1].name, found[-1].base, found[-1].first, total, frozenset(uses))
    return found


def production_stages(stages: list[Stage], targets: set[str]) -> list[Stage]:
    """The stages a production image is made of: each stage no other one builds on or copies from
    (the default build target, or a sibling such as `final` next to `dev`) unless it is named for
    development, each stage that a production compose file targets, and the stages they build on."""
    names = {stage.name for stage in stages}
    used = {stage.base for stage in stages} | {name for stage in stages for name in stage.uses}
    chosen = {
        stage.name for stage in stages
        if (stage.name not in used and not camel_words(stage.name) & NON_PRODUCTION_WORDS) or stage.name in targets
    }  # fmt: skip
    by_name = {stage.name: stage for stage in stages}
    frontier = list(chosen)
    while frontier:
        base = by_name[frontier.pop()].base
        if base in names and base not in chosen:
            chosen.add(base)
            frontier.append(base)
    return [stage for stage in stages if stage.name in chosen]


def split_stages(text: str, targets: set[str]) -> tuple[str, str]:
    """(production, development) text of a Dockerfile, each with the other's stages blanked (line
    numbers kept): what a production image runs, and what only development builds do."""
    stages = dockerfile_stages(text)
    if len(stages) < 2:
        return text, ""
    kept = production_stages(stages, targets)
    lines = text.splitlines()
    dropped = {n for s in stages if s not in kept for n in range(s.first, s.last + 1)}
    production = "\n".join("" if n in dropped else line for n, line in enumerate(lines, start=1))
    development = "\n".join(line if n in dropped else "" for n, line in enumerate(lines, start=1))
    return production + "\n", development + "\n"


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
