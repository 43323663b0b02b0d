"""Generating a project: collect the answers, validate them, render atomically."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flaskgen import git
from flaskgen.answers import AnswersMap, coerce_answers
from flaskgen.errors import FlaskgenError, InvalidAnswer, OutputDirError, TargetExists, TemplateError
from flaskgen.presets import Preset
from flaskgen.template import Option, Template, open_template

__all__ = [
    "GenerationResult",
    "generate_project",
    "render",
    "resolve_answers",
    "validate_answers",
]


@dataclass(frozen=True)
class GenerationResult:
    """What `generate_project` made."""

    project_dir: Path
    answers: dict[str, Any]
    files: tuple[str, ...]
    """Paths relative to project_dir (without .git), sorted."""


def _environment(options: Mapping[str, Option]) -> dict[str, Any]:
    """Defaults from this machine: the running Python, when the template offers it."""
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    python = options.get("python_version")
    return {"python_version": running} if python and python.choices and running in python.choices else {}


def resolve_answers(
    template: Template,
    *,
    fixed: Mapping[str, Any],
    defaults: Mapping[str, Any] | None = None,
    no_input: bool = False,
) -> dict[str, Any]:
    """Every public answer: `fixed` ones as given, the rest prompted for (or defaulted).

    Cookiecutter's own `prompt_for_config` prompts for every variable, but flaskgen must not ask
    for what NAME or `--set` already answered, so this loop re-uses Cookiecutter's prompt
    functions (same look, same `__prompts__`) and renders derived defaults the same way.
    """
    from cookiecutter.prompt import (
        read_user_choice,
        read_user_variable,
        read_user_yes_no,
        render_variable,
    )
    from cookiecutter.utils import create_env_with_context

    defaults = dict(defaults or {})
    env = create_env_with_context({"cookiecutter": template.context})
    prompts = template.context.get("__prompts__", {})
    asked = [name for name in template.options if name not in fixed]
    answers: dict[str, Any] = {}
    for name, option in template.options.items():
        if name in fixed:
            answers[name] = fixed[name]
            continue
        prefix = f"  [dim][{asked.index(name) + 1}/{len(asked)}][/] "
        default = defaults.get(name, template.context[name])
        if option.kind == "choice":
            choices = [render_variable(env, choice, answers) for choice in template.context[name]]
            if default in choices:  # a default from config/preset comes first, as Cookiecutter does
                choices.remove(default)
                choices.insert(0, default)
            answers[name] = choices[0] if no_input else read_user_choice(name, choices, prompts, prefix)
        elif option.kind == "boolean":
            answers[name] = bool(default) if no_input else read_user_yes_no(name, default, prompts, prefix)
        else:
            value = suggested = render_variable(env, default, answers)
            while not no_input:
                value = read_user_variable(name, suggested, prompts, prefix)
                problem = template.hooks.validate_field(name, value)
                if not problem:
                    break
                from rich import print as rich_print

                rich_print(f"  [red]{problem}[/]")
            answers[name] = value
    return answers


def validate_answers(template: Template, answers: Mapping[str, Any]) -> None:
    """Run the template's own pre-gen rules in-process, so a bad answer fails before any file
    is written (Cookiecutter would otherwise create the project directory first)."""
    public = {key: value for key, value in template.context.items() if not key.startswith("_")}
    problem = template.hooks.validate(answers, public)
    if problem:
        raise InvalidAnswer(problem)


def _make_output_dir(output_dir: Path) -> Path | None:
    """Create output_dir if needed; return the topmost directory created (to undo), or None."""
    missing = [p for p in (output_dir, *output_dir.parents) if not p.exists()]
    if not missing:
        if not output_dir.is_dir():
            raise OutputDirError(f"output directory {output_dir} is not a directory; choose another --output-dir")
        return None
    try:
        output_dir.mkdir(parents=True)
    except OSError as err:
        raise OutputDirError(
            f"cannot create output directory {output_dir}: {err.strerror}; choose a writable --output-dir"
        ) from err
    return missing[-1]


def _list_files(root: Path) -> tuple[str, ...]:
    return tuple(
        sorted(
            path.relative_to(root).as_posix()
            for path in root.rglob("*")
            if path.is_file() and ".git" not in path.relative_to(root).parts
        )
    )


def _edits_overwrite_would_lose(rendered: Path, target: Path) -> list[str]:
    """What `--overwrite` would lose in target: in a git work tree its uncommitted changes (as
    `update` refuses them), else the files git does not track that the render replaces with other
    content (outside git: every such file). A committed file is replaced: git gives it back."""
    changed = git.changed_files(target)
    if changed:
        return changed
    tracked = {path.as_posix() for path in git.ls_files(target) or []}
    return [
        relative
        for path in sorted(rendered.rglob("*"))
        if path.is_file() and (relative := path.relative_to(rendered).as_posix()) not in tracked
        if (target / relative).is_file() and not filecmp.cmp(path, target / relative, shallow=False)
    ]


def _merge_into(source: Path, target: Path) -> None:
    """Move every file of source into target, replacing same-named files (`--overwrite`)."""
    for path in sorted(source.rglob("*")):
        destination = target / path.relative_to(source)
        if path.is_dir() and not path.is_symlink():
            destination.mkdir(parents=True, exist_ok=True)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, destination)


def render(
    template: Template,
    answers: Mapping[str, Any],
    *,
    output_dir: Path,
    overwrite: bool = False,
    private: Mapping[str, Any] | None = None,
) -> Path:
    """Render into a staging directory beside the target and move it into place when complete.

    Any failure, or Ctrl-C, removes the staging directory (and an output directory this call
    created), so an unsuccessful run leaves nothing on disk.
    """
    from cookiecutter.exceptions import CookiecutterException, FailedHookException
    from cookiecutter.main import cookiecutter
    from jinja2 import TemplateError as JinjaError

    output_dir = output_dir.expanduser().absolute()
    target = output_dir / str(answers["project_slug"])
    if target.exists() or target.is_symlink():
        if not overwrite:
            raise TargetExists(f"{target} already exists; choose another name or --output-dir, or pass --overwrite")
        if not target.is_dir():
            raise TargetExists(f"{target} exists and is not a directory; remove it or choose another name")
    created = _make_output_dir(output_dir)
    try:
        if not os.access(output_dir, os.W_OK | os.X_OK):
            raise OutputDirError(f"output directory {output_dir} is not writable; choose a writable --output-dir")
        try:
            staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.flaskgen-", dir=output_dir))
        except OSError as err:
            raise OutputDirError(
                f"cannot write in {output_dir}: {err.strerror}; choose a writable --output-dir"
            ) from err
        try:
            context = {**answers, **(private or {})}
            post_gen = template.hooks.in_process_main()
            try:
                rendered = Path(
                    cookiecutter(
                        str(template.path),
                        no_input=True,
                        extra_context=context,
                        output_dir=str(staging),
                        default_config=True,
                        accept_hooks=post_gen is None,
                    )
                )
                if post_gen is not None:
                    _run_post_gen_hook(post_gen, template, context, rendered, staging)
            except FailedHookException as err:
                raise InvalidAnswer(
                    f"the template's hook refused these answers ({err}); see its message above"
                ) from err
            except (CookiecutterException, JinjaError, ValueError) as err:
                raise TemplateError(f"rendering the template failed: {err}; fix the template or answers") from err
            if target.exists():
                lost = _edits_overwrite_would_lose(rendered, target)
                if lost and (target / ".git").exists():
                    raise TargetExists(
                        f"{target} has uncommitted changes ({git.name_files(lost)}); commit or stash them, "
                        "then --overwrite replaces the template's files and git shows what it changed"
                    )
                if lost:
                    raise TargetExists(
                        f"--overwrite would replace files edited in {target} ({git.name_files(lost)}), and it is not "
                        "a git repository to get them back from: commit them with git first, or move them away"
                    )
                _merge_into(rendered, target)
            else:
                os.rename(rendered, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise
    return target


def _run_post_gen_hook(
    main: Callable[..., int], template: Template, context: Mapping[str, Any], project: Path, staging: Path
) -> None:
    # What Cookiecutter adds to the context before it renders (cookiecutter.main).
    full = {**context, "_template": str(template.path), "_output_dir": str(staging),
            "_repo_dir": str(template.path), "_checkout": None}  # fmt: skip
    try:
        status = main(json.loads(json.dumps(full, sort_keys=True)), project)  # as the `jsonify` filter
    except Exception as err:
        raise TemplateError(f"the template's post-gen hook failed: {err}; fix the template or answers") from err
    if status:
        raise TemplateError(f"the template's post-gen hook exited with status {status}; see its message above")


def generate_project(
    *,
    template: str | None = None,
    checkout: str | None = None,
    name: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    no_input: bool = False,
    output_dir: str | os.PathLike[str] = ".",
    overwrite: bool = False,
    git: bool = False,
    lock: bool = True,
    use_user_config: bool = True,
    preset: Preset | None = None,
) -> GenerationResult:
    """Generate one project and return where it is and what it was made from.

    name fills `project_name`; overrides are `--set` answers (checked against the template's
    choices); the rest are prompted for unless no_input. Defaults come from Cookiecutter's user
    config (`default_context` in ~/.cookiecutterrc or $COOKIECUTTER_CONFIG), then the preset's
    [defaults]; the preset's [locked] answers are never prompted and cannot be overridden.
    The preset's template/checkout apply when template is not given. lock: let the template's
    post-gen hook run `uv lock` (templates with a `_uv_lock` variable).
    Raises a FlaskgenError subclass for anything the user must fix.
    """
    if template is None and preset is not None and preset.template:
        template, checkout = preset.template, checkout or preset.checkout
    with open_template(template, checkout) as tpl:
        if "project_slug" not in tpl.options:
            raise TemplateError(f"template {tpl.source} has no project_slug variable; flaskgen needs one")
        layers = AnswersMap.layered(
            tpl.options,
            overrides=overrides,
            name=name,
            preset=preset,
            user_defaults=_user_defaults(tpl.options) if use_user_config else {},
            environment=_environment(tpl.options),
        )
        answers = resolve_answers(tpl, fixed=layers.fixed, defaults=layers.defaults, no_input=no_input)
        validate_answers(tpl, answers)
        out = Path(output_dir)
        git_init = git and not (out / str(answers["project_slug"]) / ".git").exists()
        private = tpl.private_context(git_init=git_init, uv_lock=lock)
        project = render(tpl, answers, output_dir=out, overwrite=overwrite, private=private)
    return GenerationResult(project_dir=project, answers=answers, files=_list_files(project))


def _user_defaults(options: Mapping[str, Option]) -> dict[str, Any]:
    """`default_context` from Cookiecutter's user config, checked like `--set`."""
    from cookiecutter.config import get_user_config
    from cookiecutter.exceptions import CookiecutterException

    try:
        config = get_user_config()
    except (CookiecutterException, OSError, ValueError) as err:
        raise FlaskgenError(f"cannot read the Cookiecutter user config: {err}; fix or unset it") from err
    known = {key: value for key, value in config.get("default_context", {}).items() if key in options}
    return coerce_answers(options, known, origin="cookiecutter user config")
