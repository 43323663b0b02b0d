"""Finding a template (bundled, local path or git URL) and reading its variables."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from flaskgen import git
from flaskgen.errors import GitError, InvalidAnswer, TemplateError, UnknownOption
from flaskgen.hooks import ModuleHooks, TemplateHooks, load_hook

__all__ = [
    "Option",
    "Template",
    "bundled_template_dir",
    "coerce_answers",
    "embedded_origin",
    "load_hook",
    "load_template_options",
    "open_template",
    "repository_root",
    "template_at",
]

OptionKind = Literal["text", "derived", "choice", "boolean"]


@dataclass(frozen=True)
class Option:
    """One template variable as `flaskgen options` shows it."""

    name: str
    kind: OptionKind
    default: Any
    """The first choice, the boolean, or the raw text (a Jinja expression for derived ones)."""
    choices: tuple[Any, ...] | None = None
    prompt: str = ""

    def coerce(self, value: Any, *, origin: str) -> Any:
        """value converted to this option's type; InvalidAnswer naming the valid values.

        Yes/no words are Cookiecutter's own (`YesNoPrompt`), which the template's hooks read too.
        """
        if self.kind == "boolean":
            if isinstance(value, bool):
                return value
            # Imported here: cookiecutter.prompt costs ~80 ms, and `flaskgen --help` must not pay it.
            from cookiecutter.prompt import YesNoPrompt

            text = str(value).strip().lower()
            if text in YesNoPrompt.yes_choices:
                return True
            if text in YesNoPrompt.no_choices:
                return False
            raise InvalidAnswer(f"{origin}: {self.name}={value!r} is not yes/no; use {self.name}=yes or {self.name}=no")
        if self.kind == "choice":
            assert self.choices is not None
            for choice in self.choices:
                if str(choice) == str(value):
                    return choice
            valid = ", ".join(map(str, self.choices))
            raise InvalidAnswer(f"{origin}: {self.name}={value!r} is not a valid choice; choose one of: {valid}")
        if not isinstance(value, str):
            raise InvalidAnswer(f"{origin}: {self.name} must be text, not {type(value).__name__}")
        return value

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "default": self.default,
            "choices": list(self.choices) if self.choices is not None else None,
            "prompt": self.prompt,
        }


def coerce_answers(options: Mapping[str, Option], raw: Mapping[str, Any], *, origin: str = "--set") -> dict[str, Any]:
    """Check keys and values against the template's variables; unknown keys are errors (every
    source of answers goes through this: `--set`, presets, the user config, answers files)."""
    answers: dict[str, Any] = {}
    for key, value in raw.items():
        option = options.get(key)
        if option is None:
            raise UnknownOption(f"{origin}: unknown option {key!r}; valid options: {', '.join(options)}")
        answers[key] = option.coerce(value, origin=origin)
    return answers


@dataclass
class Template:
    """A template ready to render: its directory and its parsed cookiecutter.json."""

    path: Path
    context: dict[str, Any]
    """cookiecutter.json as written (private `_keys` and `__prompts__` included)."""
    source: str
    """Where the template comes from, as recorded in a project's answers file: a git URL, a
    local repository path, or "bundled" (an installed flaskgen outside any git checkout)."""
    checkout: str | None = None
    commit: str | None = None
    """The template repository's commit (None when the source is not a git repository)."""
    directory: str | None = None
    """The template's directory inside the repository (None at its root)."""
    release: str | None = None
    """The commit as `git describe` words it, when no git repository is at hand to ask (a wheel)."""
    hooks: TemplateHooks = field(default=None, repr=False, compare=False)  # type: ignore[assignment]
    """Its hooks as flaskgen calls them (flaskgen.hooks), loaded the first time one is used."""
    options: dict[str, Option] = field(init=False)

    def __post_init__(self) -> None:
        self.options = parse_options(self.context)
        if not isinstance(self.hooks, ModuleHooks) or self.hooks.template_dir != self.path:
            self.hooks = ModuleHooks(self.path)  # a new path (template_at) has its own hooks

    def private_context(
        self, *, git_init: bool = False, uv_lock: bool = False, checkout: str | None = None
    ) -> dict[str, Any]:
        """The private variables flaskgen sets for one render, those the template's
        cookiecutter.json declares: where the template came from, which the post-gen hook writes
        into the answers file (checkout: the branch the project follows, when not the
        template's own), and whether the post-gen hook runs `git init` and `uv lock`."""
        values = {
            **self.origin_context(),
            "_answers_checkout": (self.checkout if checkout is None else checkout) or "",
            "_git_init": git_init,
            "_uv_lock": uv_lock,
        }
        return {key: value for key, value in values.items() if key in self.context}

    def origin_context(self) -> dict[str, str]:
        """Private template variables that the post-gen hook writes into the answers file."""
        wanted = {
            "_answers_source": self.source,
            "_answers_commit": self.commit or "",
            "_answers_checkout": self.checkout or "",
            "_answers_directory": self.directory or "",
            "_answers_version": self.release or "",
        }
        return {key: value for key, value in wanted.items() if key in self.context}


def _located(path: Path, context: dict[str, Any], *, source: str | None, checkout: str | None) -> Template:
    """A Template with its git origin filled in from the repository that holds path.

    The template's own post-gen hook decides the origin (`repository_origin`), so `flaskgen new`
    and plain Cookiecutter record the same thing; a template without that function records
    its source only."""
    hooks = ModuleHooks(path)
    origin = hooks.repository_origin(str(path))
    if origin is None:
        return Template(path=path, context=context, source=source or "bundled", checkout=checkout, hooks=hooks)
    return Template(
        path=path,
        context=context,
        source=source or origin["template"],
        checkout=checkout,
        commit=origin["commit"],
        directory=origin["directory"],
        hooks=hooks,
    )


PACKAGE_DIR = Path(__file__).resolve().parent
ORIGIN_FILE = PACKAGE_DIR / "_origin.json"
"""Written at wheel build time by hatch_build.py: the repository and commit the packaged template
came from (absent in a source checkout, where git itself answers)."""


def bundled_template_dir() -> Path:
    """The template shipped with flaskgen.

    In a wheel it is package data (`flaskgen/_template`, the hooks as real files); in a source
    checkout or an editable install it is the repository's `template/` directory, whose `hooks`
    is a link to the repository's top-level `hooks/`.
    """
    packaged = PACKAGE_DIR / "_template"
    if (packaged / "cookiecutter.json").is_file():
        return packaged
    source_tree = PACKAGE_DIR.parent / "template"
    if (source_tree / "cookiecutter.json").is_file():
        return source_tree
    raise TemplateError("the bundled template is missing from this flaskgen install; reinstall flaskgen")


def embedded_origin() -> dict[str, Any] | None:
    """What the build recorded about the packaged template (see ORIGIN_FILE); None when the
    build recorded no source."""
    try:
        origin = json.loads(ORIGIN_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return origin if isinstance(origin, dict) and origin.get("template") else None


def _bundled() -> Template:
    """The bundled template with its origin: from git in a source checkout, from the build's
    record in an installed wheel (never from git there: site-packages may sit inside some
    unrelated repository, e.g. a project's .venv)."""
    directory = bundled_template_dir()
    path, context = resolve_nested(directory)
    if directory != PACKAGE_DIR / "_template":
        return _located(path, context, source=None, checkout=None)
    origin = embedded_origin()
    if origin is None:
        return Template(path=path, context=context, source="bundled")
    return Template(
        path=path,
        context=context,
        source=origin["template"],
        commit=origin.get("commit"),
        directory=origin.get("directory"),
        release=origin.get("release"),
    )


def _prompt_text(prompts: Mapping[str, Any], name: str) -> str:
    prompt = prompts.get(name, "")
    if isinstance(prompt, dict):
        return str(prompt.get("__prompt__", ""))
    return str(prompt)


def parse_options(context: Mapping[str, Any]) -> dict[str, Option]:
    """The public variables of a cookiecutter.json, in prompt order."""
    prompts = context.get("__prompts__", {})
    options: dict[str, Option] = {}
    for name, raw in context.items():
        if name.startswith("_"):
            continue
        prompt = _prompt_text(prompts, name)
        if isinstance(raw, bool):
            options[name] = Option(name, "boolean", raw, (True, False), prompt)
        elif isinstance(raw, list):
            options[name] = Option(name, "choice", raw[0] if raw else None, tuple(raw), prompt)
        elif isinstance(raw, str) and ("{{" in raw or "{%" in raw):
            options[name] = Option(name, "derived", raw, None, prompt)
        else:
            options[name] = Option(name, "text", raw, None, prompt)
    return options


def _read_context(directory: Path) -> dict[str, Any]:
    path = directory / "cookiecutter.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise TemplateError(
            f"{directory} has no cookiecutter.json; point --template at a Cookiecutter template"
        ) from err
    except (OSError, ValueError) as err:
        raise TemplateError(f"cannot read {path}: {err}; fix the file or the --template") from err


def resolve_nested(directory: Path) -> tuple[Path, dict[str, Any]]:
    """Follow a root cookiecutter.json with Cookiecutter's nested `templates` key to the first
    template it lists (this repository's root file points at ./template that way)."""
    context = _read_context(directory)
    nested = context.get("templates")
    if isinstance(nested, dict) and nested:
        first = next(iter(nested.values()))
        relative = Path(str(first.get("path", "")))
        target = (directory / relative).resolve()
        if relative.is_absolute() or not target.is_relative_to(directory.resolve()):
            raise TemplateError(f"nested template path {relative} leaves {directory}")
        return target, _read_context(target)
    return directory, context


def _is_remote(template: str) -> bool:
    from cookiecutter.repository import is_repo_url, is_zip_file

    return is_repo_url(template) or is_zip_file(template)


@contextmanager
def open_template(template: str | None = None, checkout: str | None = None) -> Iterator[Template]:
    """Yield a local, parsed template; clones (and later removes) a git template.

    template: None for the bundled template, a local directory, or a git URL
    (`https://...`, `git@...`, `file://...`, `gh:org/repo`). A local git repository with
    `checkout` is cloned at that ref, so `--checkout` works on paths too.
    """
    if template is None:
        if checkout:
            raise TemplateError("--checkout needs --template pointing at a git repository")
        yield _bundled()
        return

    local = Path(template).expanduser()
    work_tree = local.is_dir() and (local / ".git").exists()
    bare = local.is_dir() and (local / "HEAD").is_file() and (local / "objects").is_dir()
    recorded = str(local.resolve()) if work_tree or bare else template
    if (checkout and work_tree) or bare:
        template = "git+" + local.resolve().as_uri()  # Cookiecutter clones git+file:// URLs
    elif not _is_remote(template) and "gh:" not in template and "gl:" not in template:
        if not local.is_dir():
            raise TemplateError(
                f"template {template!r} is not a directory or git URL; give a path to a template or a repository URL"
            )
        path, context = resolve_nested(local.resolve())
        yield _located(path, context, source=None, checkout=None)
        return

    from cookiecutter.config import get_user_config
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.repository import determine_repo_dir

    clone_root = Path(tempfile.mkdtemp(prefix="flaskgen-template-"))
    try:
        # Cookiecutter logs a failed `git clone` with its traceback before raising; the error below says it.
        vcs_log = logging.getLogger("cookiecutter.vcs")
        vcs_log.disabled = True
        try:
            repo_dir, _ = determine_repo_dir(
                template=template,
                abbreviations=get_user_config()["abbreviations"],
                clone_to_dir=str(clone_root),
                checkout=checkout,
                no_input=True,
            )
        except (CookiecutterException, OSError, ValueError, subprocess.CalledProcessError) as err:
            raise TemplateError(
                f"cannot fetch template {template!r}"
                f"{f' at {checkout!r}' if checkout else ''}: {_one_line(err)}; "
                "check the URL and ref"
            ) from err
        finally:
            vcs_log.disabled = False
        path, context = resolve_nested(Path(repo_dir))
        yield _located(path, context, source=recorded, checkout=checkout)
    finally:
        shutil.rmtree(clone_root, ignore_errors=True)


def repository_root(template: Template) -> Path | None:
    """The top of the git work tree holding the template (None outside git)."""
    top = git.probe(template.path, "rev-parse", "--show-toplevel")
    return Path(top) if top else None


@contextmanager
def template_at(template: Template, ref: str) -> Iterator[Template]:
    """The same template at another commit of its repository: a local `git clone --shared` of
    the repository (no network, objects shared), checked out at ref, removed afterwards."""
    root = repository_root(template)
    if root is None:
        raise TemplateError(f"template {template.source} is not a git repository; it has no commit {ref}")
    inside = template.path.resolve().relative_to(root.resolve())
    scratch = Path(tempfile.mkdtemp(prefix="flaskgen-at-"))
    try:
        clone = scratch / "repo"
        git.run("clone", "--quiet", "--shared", "--no-checkout", str(root), str(clone))
        try:
            git.run("-C", str(clone), "checkout", "--quiet", "--detach", ref)
        except GitError as err:
            raise TemplateError(
                f"template {template.source} has no commit {ref[:12]} ({err}); pass --template with a clone that has it"
            ) from err
        commit = git.run("-C", str(clone), "rev-parse", "HEAD").decode().strip()
        path, context = resolve_nested(clone / inside)
        yield replace(template, path=path, context=context, commit=commit)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _one_line(err: BaseException) -> str:
    output = getattr(err, "output", None)  # a failed git clone: git's own last line says why
    if isinstance(output, bytes) and output.strip():
        err = Exception(output.decode(errors="replace").strip().splitlines()[-1])
    text = " ".join(str(err).split())
    return text[:300] or type(err).__name__


def load_template_options(template: str | None = None, checkout: str | None = None) -> dict[str, Option]:
    """The variables of a template (bundled by default), in prompt order."""
    with open_template(template, checkout) as tpl:
        return tpl.options
