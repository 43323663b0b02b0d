"""The template's hooks as flaskgen calls them: one typed adapter per template, loaded lazily.

flaskgen never repeats the template's rules; it calls them in the template's own hooks
(`hooks/pre_gen_project.py`, `hooks/post_gen_project.py`), imported as modules. A fork's hooks
may lack any of these functions, or be plain scripts that cannot be imported: `TemplateHooks`
says what flaskgen calls and, for each, what it gets when the hook has no such function.
`ModuleHooks` imports each hook the first time one of its functions is asked for, once per
template, never at import of flaskgen.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

__all__ = ["ModuleHooks", "TemplateHooks", "load_hook"]

PRE_GEN = "pre_gen_project"
POST_GEN = "post_gen_project"
DEFAULT_ANSWERS_FILE = ".cruft.json"


class TemplateHooks(Protocol):
    """What flaskgen calls in a template's hooks; each body is the default for a hook without it."""

    @property
    def answers_file(self) -> str:
        """The answers file the post-gen hook writes (its `ANSWERS_FILE`)."""
        return DEFAULT_ANSWERS_FILE

    def validate(self, answers: Mapping[str, Any], options: Mapping[str, Any]) -> str | None:
        """The pre-gen rules over all answers: the problem and its fix, or None."""
        return None

    def validate_field(self, key: str, value: Any) -> str | None:
        """The pre-gen rule for one prompted answer: the problem, or None."""
        return None

    def repository_origin(self, directory: str) -> dict[str, Any] | None:
        """The template's git origin ({template, commit, directory}) as the post-gen hook records it."""
        return None

    def lock_dependencies(self, root: Path) -> str | None:
        """The post-gen hook's `uv lock` step: None when it locked, else why not, with the fix."""
        return "the template does not lock dependencies"

    @property
    def can_lock(self) -> bool:
        return False

    def in_process_main(self) -> Callable[[Mapping[str, Any], Path], int] | None:
        """The post-gen `main(answers, root)` when flaskgen can run the hooks in-process (see
        generate.render), else None: Cookiecutter runs the hook scripts itself."""
        return None

    # What `flaskgen backstage` translates into a software template (the scaffolder runs no hooks).

    @property
    def form_rules(self) -> Mapping[str, Mapping[str, Any]]:
        """The pre-gen checks a form can make, as JSON Schema per option (its `FORM_RULES`)."""
        return {}

    @property
    def incompatible(self) -> tuple[tuple[Mapping[str, Any], str], ...]:
        """Combinations of answers the pre-gen hook refuses, each with why (its `INCOMPATIBLE`)."""
        return ()

    def files_to_prune(self, answers: Mapping[str, Any]) -> list[str] | None:
        """The files the post-gen hook deletes for answers; None when it cannot say."""
        return None

    def answers_record(self, answers: Mapping[str, Any]) -> dict[str, Any] | None:
        """The answers file's content the post-gen hook writes for answers; None when it cannot say."""
        return None

    def template_version(self, origin: Mapping[str, Any], answers: Mapping[str, Any]) -> str | None:
        """The template version as the post-gen hook words it in the project; None without one."""
        return None


class ModuleHooks(TemplateHooks):
    """A template's hooks imported from its `hooks/` directory, each the first time it is used."""

    def __init__(self, template_dir: Path) -> None:
        self.template_dir = template_dir

    @cached_property
    def pre_gen(self) -> ModuleType | None:
        return load_hook(self.template_dir, PRE_GEN)

    @cached_property
    def post_gen(self) -> ModuleType | None:
        return load_hook(self.template_dir, POST_GEN)

    def _function(self, module: ModuleType | None, name: str) -> Callable[..., Any] | None:
        found = getattr(module, name, None)
        return found if callable(found) else None

    @property
    def answers_file(self) -> str:
        name = getattr(self.post_gen, "ANSWERS_FILE", None)
        return name if isinstance(name, str) and name else super().answers_file

    def validate(self, answers: Mapping[str, Any], options: Mapping[str, Any]) -> str | None:
        found = self._function(self.pre_gen, "validate")
        return found(answers, options) if found else super().validate(answers, options)

    def validate_field(self, key: str, value: Any) -> str | None:
        found = self._function(self.pre_gen, "validate_field")
        return found(key, value) if found else super().validate_field(key, value)

    def repository_origin(self, directory: str) -> dict[str, Any] | None:
        found = self._function(self.post_gen, "repository_origin")
        return found(directory) if found else super().repository_origin(directory)

    @property
    def can_lock(self) -> bool:
        return self._function(self.post_gen, "lock_dependencies") is not None

    def lock_dependencies(self, root: Path) -> str | None:
        found = self._function(self.post_gen, "lock_dependencies")
        return found(root) if found else super().lock_dependencies(root)

    @property
    def form_rules(self) -> Mapping[str, Mapping[str, Any]]:
        rules = getattr(self.pre_gen, "FORM_RULES", None)
        return rules if isinstance(rules, Mapping) else super().form_rules

    @property
    def incompatible(self) -> tuple[tuple[Mapping[str, Any], str], ...]:
        return tuple(getattr(self.pre_gen, "INCOMPATIBLE", None) or super().incompatible)

    def files_to_prune(self, answers: Mapping[str, Any]) -> list[str] | None:
        found = self._function(self.post_gen, "files_to_prune")
        return list(found(answers)) if found else super().files_to_prune(answers)

    def answers_record(self, answers: Mapping[str, Any]) -> dict[str, Any] | None:
        found = self._function(self.post_gen, "answers_record")
        return found(answers) if found else super().answers_record(answers)

    def template_version(self, origin: Mapping[str, Any], answers: Mapping[str, Any]) -> str | None:
        found = self._function(self.post_gen, "template_version")
        return found(origin, answers) if found else super().template_version(origin, answers)

    def in_process_main(self) -> Callable[[Mapping[str, Any], Path], int] | None:
        """Cookiecutter runs each hook as a new Python process (rendered first), two interpreter
        start-ups per project; flaskgen already runs the pre-gen rules in-process
        (`generate.validate_answers`), so when the template's hooks are exactly an importable
        pre-gen `validate` and post-gen `main` it renders with Cookiecutter's hooks off and calls
        `main` itself. Any other hook layout (a pre-prompt hook, a hook that only works rendered)
        keeps Cookiecutter's own way."""
        directory = self.template_dir / "hooks"
        names = {p.name for p in directory.iterdir() if p.is_file()} if directory.is_dir() else set()
        if names - {f"{PRE_GEN}.py", f"{POST_GEN}.py"}:
            return None
        if f"{PRE_GEN}.py" in names and self._function(self.pre_gen, "validate") is None:
            return None
        if f"{POST_GEN}.py" not in names:
            return lambda answers, root: 0
        return self._function(self.post_gen, "main")


def load_hook(template_dir: Path, name: str) -> ModuleType | None:
    """Import a hook script as a module (its functions are plain Python; the Jinja parts are
    only in its `__main__` block). None when the template has no such hook, or when the hook
    is a plain script: one without a `__name__ == "__main__"` guard does its work at import,
    so importing it here would run it (a fork's hook may delete or write files)."""
    path = template_dir / "hooks" / f"{name}.py"
    if not path.is_file():
        return None
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not re.search(r"""^if __name__ == ["']__main__["']:""", source, flags=re.MULTILINE):
        return None
    spec = importlib.util.spec_from_file_location(f"_flaskgen_hook_{name}", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit):  # a fork's hook may only work once rendered: then Cookiecutter alone runs it
        return None
    return module
