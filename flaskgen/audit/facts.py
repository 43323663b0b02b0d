"""What a project is, read once from its files: the facts the audit's rules decide on.

`collect(root)` walks the tree once and splits it into projects (a folder that holds several
projects is audited as several: proxy presence, worker class and the module index are each
project's own). Each file it knows is parsed once (Python modules, Gunicorn settings, Nginx sites,
command files, compose services, Kubernetes manifests); the rules (flaskgen.audit.checks) never
read a file."""

from __future__ import annotations

import io
import os
import re
import sys
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from flaskgen.audit.ast_tools import parse_source
from flaskgen.audit.model import CommandFile, NginxMain, NginxSite, PythonModule, WorkerCount
from flaskgen.audit.parsers.commands import split_stages
from flaskgen.audit.parsers.compose import Build, ComposeServices, compose_builds, compose_services, yaml_nodes
from flaskgen.audit.parsers.gunicorn import (
    GunicornConfig,
    embedded_gunicorn,
    gunicorn_commands,
    gunicorn_config_file,
    web_concurrency,
)
from flaskgen.audit.parsers.kubernetes import KubeDoc, documents
from flaskgen.audit.parsers.nginx import http_settings, includes, parse_nginx, proxies, upstream_addresses
from flaskgen.audit.paths import NON_PRODUCTION_WORDS, NOT_SERVICE_DIRS, is_test_path, words

SKIP_DIRS = {
    ".git", ".venv", "venv", "env", "node_modules", "__pycache__", ".tox", ".nox", "build", "dist",
    "site-packages", ".mypy_cache", ".pytest_cache", ".ruff_cache", "htmlcov", "bower_components",
}  # fmt: skip


# A directory holding one of these is a project of its own when the audited folder is not one.
PROJECT_MARKERS = (
    "pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", "Pipfile", "Dockerfile", "Procfile",
    "compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml", ".git",
)  # fmt: skip


ASYNC_WORKERS = {"gevent", "eventlet", "tornado", "uvicorn.workers.UvicornWorker", "geventwebsocket", "meinheld"}


SYNC_WORKERS = {"sync", "gthread"}


PROXY_IMAGES = re.compile(r"image:\s*['\"]?([\w./-]*/)?(nginx|traefik|caddy|haproxy|envoyproxy)", re.IGNORECASE)


KUBE_KIND = re.compile(r"^apiVersion:", re.MULTILINE)


HELM_VALUE = re.compile(r"\.Values\.(\w+(?:\.\w+)*)")


COMPOSE_FORMAT = re.compile(r"^services:[ \t]*$", re.MULTILINE)


SERVICE_KEYS = re.compile(r"^[ \t]+(image|build):", re.MULTILINE)


CI_PATHS = (".github", ".circleci", ".gitlab-ci.yml", ".travis.yml", "azure-pipelines.yml", "Jenkinsfile")


# Folders that say how an image is built, not which one it is (docker/Dockerfile).
GENERIC_FOLDERS = {"docker", "dockerfiles", "build", "deploy", "deployment", "container", "containers", "images",
                   "image", "ci", "ops", "infra"}  # fmt: skip


@dataclass(frozen=True)
class Image:
    """A container image a Dockerfile of the project builds, and Gunicorn as the image starts it
    (its production stages, and the entrypoint scripts they name)."""

    path: Path
    names: tuple[frozenset[str], ...]
    """The words of each name it goes by: its folder (`vote/Dockerfile`), its suffix
    (`Dockerfile.web`), the compose services that build it and their `image:`, the module of the
    app its Gunicorn serves."""
    gunicorn: tuple[GunicornConfig, ...]

    def built_as(self, reference: str) -> bool:
        """A container's `image:` is this image (`registry/acme/examplevotingapp_vote:1` for a
        `vote/Dockerfile`): every word of one of its names is a word of the image's name."""
        repository = reference.rsplit("/", 1)[-1].split("@")[0].split(":")[0]
        found = words(repository)
        return any(name and name <= found for name in self.names)


@dataclass
class ProjectFacts:
    root: Path
    python: list[PythonModule] = field(default_factory=list)
    gunicorn: list[GunicornConfig] = field(default_factory=list)
    worker_counts: list[WorkerCount] = field(default_factory=list)
    nginx: list[NginxSite] = field(default_factory=list)
    """Nginx configs that proxy to an upstream (pure static sites are left out)."""
    nginx_main: list[NginxMain] = field(default_factory=list)
    kube: list[KubeDoc] = field(default_factory=list)
    """Documents of production Kubernetes manifests and kustomizations."""
    compose: list[tuple[Path, ComposeServices]] = field(default_factory=list)
    """Production compose files that publish ports, with their proxy services."""
    commands: list[CommandFile] = field(default_factory=list)
    proxy_in_front: bool = False
    """A reverse proxy is part of the project (an Nginx site that proxies, a proxy image in a
    compose file, a Caddyfile)."""
    containerised: bool = False
    """The project has a Dockerfile or compose file: Gunicorn runs in a container, whose own
    address must be 0.0.0.0 (what is reachable is decided by the published ports)."""
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    """Files that could not be read or parsed, with the reason."""
    images: list[Image] = field(default_factory=list)
    """The container images the Dockerfiles of the audited tree build (Kubernetes containers name
    them; a repository's manifests run the images its projects build)."""
    builds: list[tuple[Path, bool, Build]] = field(default_factory=list)
    """(compose file, whether it is production, a service it builds)."""

    @property
    def sync_workers(self) -> bool | None:
        """True when Gunicorn is known to run sync/gthread workers, False when some setting picks an
        async class (gevent, ...), None when unknown (no Gunicorn settings, or a class from a
        variable the audit cannot resolve)."""
        if not self.gunicorn:
            return None
        classes = {config.effective_worker_class for config in self.gunicorn}
        if classes & ASYNC_WORKERS:
            return False
        return True if classes <= SYNC_WORKERS else None

    @property
    def cooperative_workers(self) -> bool:
        """Every Gunicorn setting of the web process (not a `gunicorn_worker.py` of a background
        service) picks gevent or eventlet workers, which patch time.sleep, sockets and subprocesses
        to yield to the worker's other requests."""
        background = {"worker", "workers", "celery", "tasks"}
        web = [c for c in self.gunicorn if not words(c.path.relative_to(self.root).as_posix()) & background]
        classes = {config.effective_worker_class.lower() for config in web or self.gunicorn}
        return bool(classes) and all("gevent" in name or "eventlet" in name for name in classes)

    @property
    def upstreams(self) -> set[str]:
        return {address for site in self.nginx for address in upstream_addresses(site.parsed)}


def _walk(root: Path) -> Iterator[Path]:
    for directory, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(names):
            yield Path(directory) / name


def project_roots(root: Path) -> list[Path]:
    """root itself when it is a project (or a file); else each topmost folder under it with a
    project marker, and root for whatever lies outside them."""
    if root.is_file() or any((root / marker).exists() for marker in PROJECT_MARKERS):
        return [root]
    found: list[Path] = []
    for directory, dirs, _names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        here = Path(directory)
        if here != root and any((here / marker).exists() for marker in PROJECT_MARKERS):
            found.append(here)
            dirs[:] = []
    return [root, *found]


def command_kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.startswith("dockerfile") or name.endswith(".dockerfile") or name == "containerfile":
        return "dockerfile"
    if name.startswith(("compose", "docker-compose")) and name.endswith((".yml", ".yaml")):
        return "compose"
    if name.startswith("procfile"):
        return "procfile"
    if name.endswith(".service"):
        return "systemd"
    if name.endswith(".sh") or name in ("entrypoint", "docker-entrypoint", "boot", "start"):
        return "script"
    if name == "makefile":
        return "makefile"
    if name.endswith((".conf", ".ini")) and ("supervisor" in path.parts or "supervisord" in name):
        return "supervisor"
    return None


# A compose service that bind-mounts the project's source over the image (`- .:/app`) is a
# development setup: code reloads from the working tree.
SOURCE_MOUNT = re.compile(
    r"^\s*-\s*['\"]?\.{1,2}(/[\w.-]*)*/?:/(app|code|src|usr/src|srv|opt|home|workspace)\b", re.MULTILINE
)


def is_production(relative: PurePosixPath, kind: str, siblings: set[str], text: str = "") -> bool:
    """Not a dev/test/example variant, not CI, not documentation or test fixtures, not a compose
    file that mounts the source tree, and not the plain compose file/Dockerfile when a `prod`
    variant of it sits next to it."""
    if kind == "makefile" or relative.parts[0] in CI_PATHS or NOT_SERVICE_DIRS & set(relative.parts[:-1]):
        return False
    # A folder named for development (`dev/`, `docker/local/`, `.devcontainer/`) holds development setups.
    if any(words(part) & NON_PRODUCTION_WORDS for part in relative.parts[:-1]):
        return False
    if kind == "compose" and SOURCE_MOUNT.search(text):
        return False
    if words(relative.name) & NON_PRODUCTION_WORDS:
        return False
    stem = relative.name.lower().split(".")[0]
    has_prod_variant = any(
        s != relative.name.lower() and s.startswith(stem) and words(s) & {"prod", "production"} for s in siblings
    )
    return not (has_prod_variant and not words(relative.name) & {"prod", "production"})


def is_nginx_file(path: Path) -> bool:
    in_nginx_dir = bool({"nginx", "sites-available", "sites-enabled", "conf.d"} & set(path.parent.parts))
    return path.suffix == ".conf" or (in_nginx_dir and path.suffix not in (".py", ".md", ".rst", ".txt", ".sh"))


class _Reader:
    """Fills one ProjectFacts from the files of its project."""

    def __init__(self, facts: ProjectFacts) -> None:
        self.facts = facts

    def python(self, path: Path, relative: PurePosixPath, text: str) -> None:
        parts = set(relative.parts[:-1])
        if is_test_path(relative) or ("versions" in parts and {"migrations", "alembic"} & parts):
            return  # exempt from every code rule, and never imported by the service: not parsed
        try:
            tree, set_aside = parse_source(text, filename=str(path))
        except (SyntaxError, ValueError) as error:
            line = getattr(error, "lineno", None)
            self.facts.skipped.append((path, f"not valid Python{f' (line {line})' if line else ''}"))
            return
        if set_aside:
            lines = ", ".join(str(line) for line in set_aside)
            version = ".".join(str(part) for part in sys.version_info[:2])
            self.facts.skipped.append((path, f"line {lines} skipped, the rest read: newer Python than {version}?"))
        self.facts.python.append(PythonModule(path, relative, tree, text))
        if "gunicorn" in path.name:
            self.facts.gunicorn.append(gunicorn_config_file(path, tree))
        elif "gunicorn.app" in text:
            self.facts.gunicorn.append(embedded_gunicorn(path, tree))

    def nginx(self, path: Path) -> None:
        parsed = parse_nginx(path)
        if parsed is None:
            return
        if proxies(parsed):
            self.facts.proxy_in_front = True
            self.facts.nginx.append(NginxSite(path, parsed))
        if includes(parsed):
            self.facts.nginx_main.append(NginxMain(path, http_settings(parsed), includes(parsed)))

    def kubernetes(self, path: Path, relative: PurePosixPath, text: str) -> None:
        siblings = {p.name.lower() for p in path.parent.iterdir()}
        if not is_production(relative, "kubernetes", siblings):
            return
        nodes = yaml_nodes(text)
        docs = list(documents(path, nodes))
        if path.stem == "kustomization" and nodes and not docs:
            docs = [KubeDoc(path, "Kustomization", "", nodes[0])]
        elif path.name == "values.yaml" and (path.parent / "Chart.yaml").is_file() and nodes:
            templates = [f for f in (path.parent / "templates").rglob("*") if f.is_file()]
            mentions = {m for f in templates for m in HELM_VALUE.findall(f.read_text(errors="replace"))}
            docs = [KubeDoc(path, "HelmValues", "", nodes[0], frozenset(mentions))]
        self.facts.kube += docs
        self.facts.containerised = self.facts.containerised or bool(docs)

    def command(self, path: Path, relative: PurePosixPath, text: str, kind: str) -> None:
        siblings = {p.name.lower() for p in path.parent.iterdir()}
        production = is_production(relative, kind, siblings, text)
        self.facts.commands.append(CommandFile(path, relative, text, kind, production))
        if kind in ("dockerfile", "compose"):
            self.facts.containerised = True
        if kind == "compose" and PROXY_IMAGES.search(text):
            self.facts.proxy_in_front = True
        if production and kind == "compose" and "ports" in text:
            self.facts.compose.append((path, compose_services(text)))
        if kind == "compose" and "build" in text:
            self.facts.builds += [(path, production, build) for build in compose_builds(text)]

    def finish(self) -> None:
        """What needs every command file read: which stages of each Dockerfile production builds
        (and whether only development compose files build it), then Gunicorn as production starts
        it, and the images Kubernetes may run."""
        builds: dict[Path, list[tuple[bool, Build]]] = {}
        for compose, production, build in self.facts.builds:
            dockerfile = Path(os.path.normpath(compose.parent / build.context / build.dockerfile))
            builds.setdefault(dockerfile, []).append((production, build))
        commands: list[CommandFile] = []
        for command in self.facts.commands:
            if command.kind == "dockerfile":
                users = builds.get(command.path, [])
                targets = {build.target for production, build in users if production and build.target}
                text, development = split_stages(command.text, targets)
                # Built only by development compose files (a source-mounting compose.yaml), for its default stage.
                dev_only = bool(users) and not any(p for p, _ in users) and any(not b.target for _, b in users)
                command = replace(command, text=text, development=development,
                                  production=command.production and not dev_only)  # fmt: skip
            commands.append(command)
        self.facts.commands = commands
        for command in commands:
            if command.production:
                self.facts.gunicorn += gunicorn_commands(command.path, command.text, command.kind)
                self.facts.worker_counts += [
                    WorkerCount(command.path, line, count) for count, line in web_concurrency(command.text)
                ]
        self.facts.images = [
            self._image(c, builds.get(c.path, []), commands)
            for c in commands
            if c.kind == "dockerfile" and not NOT_SERVICE_DIRS & set(c.relative.parts[:-1])
        ]

    def _image(self, dockerfile: CommandFile, users: list[tuple[bool, Build]], commands: list[CommandFile]) -> Image:
        relative = dockerfile.relative
        folders = [part for part in reversed(relative.parts[:-1]) if part.lower() not in GENERIC_FOLDERS]
        names = [folders[0] if folders else self.facts.root.name]
        suffix = re.sub(r"(?i)^dockerfile[.-]?|[.-]?dockerfile$", "", relative.name)
        names += [suffix, *(b.service for _, b in users), *(b.image.rsplit("/", 1)[-1].split(":")[0] for _, b in users)]
        named = [c for c in commands if c.kind == "script" and c.production and c.path.name in dockerfile.text]
        beside = [c for c in named if c.path.is_relative_to(dockerfile.path.parent)]
        scripts = beside or named  # the copy in the Dockerfile's folder when several scripts share the name
        gunicorn = [*gunicorn_commands(dockerfile.path, dockerfile.text, "dockerfile"),
                    *(g for c in scripts for g in gunicorn_commands(c.path, c.text, "script"))]  # fmt: skip
        names += [config.app.split(":")[0].split(".")[0] for config in gunicorn if config.app]
        return Image(dockerfile.path, tuple(frozenset(words(n)) for n in names if n), tuple(gunicorn))


def _decode(data: bytes, *, python: bool) -> str:
    """A file's text, newlines as `\\n`: UTF-8 without a byte-order mark, or for Python the encoding
    its coding cookie declares (PEP 263)."""
    encoding = tokenize.detect_encoding(io.BytesIO(data).readline)[0] if python else "utf-8-sig"
    return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")


def _read(reader: _Reader, path: Path, relative: PurePosixPath) -> None:
    try:
        text = _decode(path.read_bytes(), python=path.suffix == ".py")
    except (UnicodeDecodeError, LookupError, SyntaxError):
        if path.suffix == ".py":
            reader.facts.skipped.append((path, "not UTF-8"))
        return
    except OSError as error:
        reader.facts.skipped.append((path, error.strerror or "unreadable"))
        return
    in_fixtures = bool(NOT_SERVICE_DIRS & set(relative.parts[:-1])) or is_test_path(relative)
    if path.suffix == ".py":
        reader.python(path, relative, text)
    elif is_nginx_file(path) and not in_fixtures and "[program:" not in text:
        reader.nginx(path)
    kind = command_kind(path)
    if kind is None and path.suffix == ".conf" and "[program:" in text:
        kind = "supervisor"
    stack = path.suffix in (".yml", ".yaml") and relative.parts[0] not in CI_PATHS and not in_fixtures
    manifest = (KUBE_KIND.search(text) or path.stem == "kustomization") and "{{" not in text
    if kind is None and stack and COMPOSE_FORMAT.search(text) and SERVICE_KEYS.search(text):
        kind = "compose"  # a stack file, a platform's stack: the compose format under another name
    elif kind is None and stack and (manifest or path.name == "values.yaml"):  # a chart's values may hold `{{ }}`
        reader.kubernetes(path, relative, text)
    if kind is not None:
        reader.command(path, relative, text, kind)
    if path.name.lower().startswith("caddyfile") and not in_fixtures:
        reader.facts.proxy_in_front = True


def collect(root: Path) -> list[ProjectFacts]:
    """The facts of each project under root (a project directory, a folder of projects, or one file)."""
    if root.is_file():
        facts = ProjectFacts(root.parent)
        reader = _Reader(facts)
        _read(reader, root, PurePosixPath(root.name))
        reader.finish()
        return [facts]
    roots = project_roots(root)
    projects = {project: ProjectFacts(project) for project in roots}
    readers = {project: _Reader(facts) for project, facts in projects.items()}
    nested = sorted(roots[1:], key=lambda p: len(p.parts), reverse=True)
    for path in _walk(root):
        project = next((p for p in nested if path.is_relative_to(p)), root)
        _read(readers[project], path, PurePosixPath(path.relative_to(project).as_posix()))
    for reader in readers.values():
        reader.finish()
    # A manifest runs images that other projects of the repository build (k8s/ next to src/*/Dockerfile).
    images = [image for facts in projects.values() for image in facts.images]
    for facts in projects.values():
        facts.images = images
    return [f for f in projects.values() if f.python or f.commands or f.nginx or f.kube or f.skipped]
