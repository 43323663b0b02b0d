"""flaskgen.hooks: the template's hooks behind one typed adapter, each imported once, lazily, and
nothing at import of flaskgen; the private variables set in one place (Template.private_context)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flaskgen.hooks import ModuleHooks
from flaskgen.template import bundled_template_dir, open_template
from tests.helpers import REPO, write_tree

GUARD = 'if __name__ == "__main__":\n    pass\n'


def test_importing_flaskgen_loads_no_hook() -> None:
    """Neither the CLI nor the lifecycle API imports a template hook until a command needs one."""
    probe = (
        "import importlib.util as u\n"
        "seen = []\n"
        "real = u.spec_from_file_location\n"
        "u.spec_from_file_location = lambda name, *a, **k: (seen.append(name), real(name, *a, **k))[1]\n"
        "import flaskgen.cli, flaskgen.project, flaskgen.fleet, flaskgen.generate\n"
        "print([name for name in seen if name.startswith('_flaskgen_hook')])\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_hook_without_the_functions_gets_the_defaults(tmp_path: Path) -> None:
    write_tree(tmp_path, {"hooks/pre_gen_project.py": GUARD, "hooks/post_gen_project.py": GUARD})
    hooks = ModuleHooks(tmp_path)
    assert hooks.validate({"a": 1}, {}) is None and hooks.validate_field("a", 1) is None
    assert hooks.answers_file == ".cruft.json"
    assert hooks.repository_origin(str(tmp_path)) is None
    assert not hooks.can_lock
    assert hooks.in_process_main() is None  # an importable post-gen hook without main: Cookiecutter runs it


def test_the_template_hooks_are_called_and_imported_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import flaskgen.hooks

    loads: list[str] = []
    real = flaskgen.hooks.load_hook
    monkeypatch.setattr(flaskgen.hooks, "load_hook", lambda path, name: (loads.append(name), real(path, name))[1])
    write_tree(tmp_path, {
        "hooks/pre_gen_project.py": "def validate(answers, options):\n    return 'no' if answers.get('x') else None\n\n"
                                    "def validate_field(key, value):\n    return f'bad {key}'\n\n" + GUARD,
        "hooks/post_gen_project.py": "ANSWERS_FILE = '.answers.json'\n\ndef main(answers, root):\n    return 0\n\n"
                                     "def lock_dependencies(root):\n    return None\n\n" + GUARD,
    })  # fmt: skip
    hooks = ModuleHooks(tmp_path)
    assert loads == []  # nothing until asked
    assert hooks.validate({"x": 1}, {}) == "no" and hooks.validate({}, {}) is None
    assert hooks.validate_field("name", "v") == "bad name"
    assert hooks.answers_file == ".answers.json" and hooks.can_lock and hooks.lock_dependencies(tmp_path) is None
    assert hooks.in_process_main() is not None
    assert sorted(loads) == ["post_gen_project", "pre_gen_project"]  # each once


def test_private_context_sets_only_what_the_template_declares() -> None:
    with open_template(str(bundled_template_dir())) as tpl:
        private = tpl.private_context(git_init=True, uv_lock=False, checkout="main")
        assert set(private) == {key for key in tpl.context if key.startswith("_") and not key.startswith("__")} & {
            "_answers_source", "_answers_commit", "_answers_checkout", "_answers_directory", "_answers_version",
            "_git_init", "_uv_lock",
        }  # fmt: skip
        assert private["_git_init"] is True and private["_uv_lock"] is False and private["_answers_checkout"] == "main"
        assert tpl.private_context()["_answers_checkout"] == (tpl.checkout or "")
