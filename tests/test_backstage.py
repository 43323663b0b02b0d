"""The organisation's portal (issue 35): `flaskgen backstage` writes a Backstage software template,
and every generated project carries a catalog-info.yaml. Both are checked with Backstage's own
validators (tests/backstage_node.py), the template's steps are rendered as Backstage's scaffolder
renders them and run the way its actions do, and the result is compared with `flaskgen new`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from allpairspy import AllPairs
from typer.testing import CliRunner

from flaskgen.cli import app
from flaskgen.generate import generate_project
from flaskgen.presets import load_preset
from flaskgen.template import load_hook, open_template
from tests import backstage_node
from tests.helpers import REPO, SLUG, commit_all, edit, git, template_repository

runner = CliRunner()
ORIGIN = "https://github.com/acme/flask-template.git"
PRESET = """
[defaults]
ci = "gitlab"
owner = "group:default/payments"
python_version = "3.11"
[locked]
database = "none"
license = "Proprietary"
lifecycle = "production"
"""
NAMES = {"project_name": "Orders API", "project_slug": "orders-api", "package_name": "orders_api",
         "domain_name": "orders.example.com"}  # fmt: skip
"""What a Backstage user types for the derived options (a form cannot compute them)."""


@pytest.fixture
def template_repo(tmp_path: Path) -> Path:
    """This checkout's template in a repository of its own, released as v1.0.0, whose origin is a
    GitHub URL (never fetched: the template is opened from the local clone)."""
    repo = template_repository(tmp_path, changelog="# Changelog\n\n## [Unreleased]\n", tag="v1.0.0")
    git(repo, "remote", "add", "origin", ORIGIN)
    return repo


@pytest.fixture
def preset(tmp_path: Path) -> Path:
    path = tmp_path / "platform.toml"
    path.write_text(PRESET)
    return path


def export(repo: Path, out: Path, *args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["backstage", "--template", str(repo), "-o", str(out), *args])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"wrote {out / 'template.yaml'}")
    document: dict[str, Any] = yaml.safe_load((out / "template.yaml").read_text())
    return document


def steps_by_action(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for step in document["spec"]["steps"]:
        found.setdefault(step["action"], []).append(step)
    return found


def test_template_yaml_passes_backstage_validators_default_and_with_locks(
    template_repo: Path, preset: Path, tmp_path: Path
) -> None:
    default = export(template_repo, tmp_path / "default")
    locked = export(template_repo, tmp_path / "locked", "--preset", str(preset))
    lines = backstage_node.validate(tmp_path / "default/template.yaml", tmp_path / "locked/template.yaml")
    assert lines == [
        f"ok {tmp_path / 'default/template.yaml'}: template:default/flaskgen-service",
        f"ok {tmp_path / 'locked/template.yaml'}: template:default/flaskgen-service-platform",
    ]
    for document, publisher in ((default, "github"), (locked, "gitlab")):  # the preset's ci default picks gitlab
        actions = [step["action"] for step in document["spec"]["steps"]]
        assert actions[0] == "fetch:cookiecutter" and actions[-2:] == [f"publish:{publisher}", "catalog:register"]
        fetch = steps_by_action(document)["fetch:cookiecutter"][0]["input"]
        assert fetch["url"] == "https://github.com/acme/flask-template/tree/v1.0.0/template"
        assert fetch["values"]["_answers_version"] == "v1.0.0"
        assert fetch["values"]["_answers_source"] == ORIGIN


def test_a_refused_template_is_refused_by_the_validators(template_repo: Path, tmp_path: Path) -> None:
    """The validators bite: a template whose step has no action is not a v1beta3 Template."""
    document = export(template_repo, tmp_path)
    del document["spec"]["steps"][0]["action"]
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(document))
    with pytest.raises(AssertionError, match="action"):
        backstage_node.validate(tmp_path / "bad.yaml")


def test_parameters_are_the_options_minus_the_locked_ones(template_repo: Path, preset: Path, tmp_path: Path) -> None:
    listed = json.loads(runner.invoke(app, ["options", "--json", "--template", str(template_repo)]).output)
    options = {option["name"]: option for option in listed}
    for args, locked in (((), {}), (("--preset", str(preset)), {"database": "none", "license": "Proprietary",
                                                                    "lifecycle": "production"})):  # fmt: skip
        document = export(template_repo, tmp_path / str(len(args)), *args)
        form, repository = document["spec"]["parameters"]
        assert list(form["properties"]) == [name for name in options if name not in locked]
        assert list(repository["properties"]) == ["repoUrl"]
        values = steps_by_action(document)["fetch:cookiecutter"][0]["input"]["values"]
        for name, value in locked.items():
            assert values[name] == value  # fixed, not asked
        for name, prop in form["properties"].items():
            option = options[name]
            assert values[name] == f"${{{{ parameters.{name} }}}}"
            assert prop["title"] == option["prompt"]
            if option["choices"] is not None and option["kind"] == "choice":
                assert prop["enum"] == [str(choice) for choice in option["choices"]]
            if option["kind"] == "derived":
                assert "default" not in prop and name in form["required"]
        if locked:
            shown = form["properties"]
            assert (shown["ci"]["default"], shown["owner"]["default"], shown["python_version"]["default"]) == (
                "gitlab", "group:default/payments", "3.11")  # fmt: skip
        else:
            assert {name: prop.get("default") for name, prop in form["properties"].items() if "default" in prop} == {
                name: str(o["default"]) if o["kind"] == "choice" else o["default"]
                for name, o in options.items()
                if o["kind"] != "derived"
            }


FORM_SAMPLES = {
    "project_name": ["Orders API", "", "1234", "x" * 65],
    "project_slug": ["orders-api", "Orders_API", "a" * 63, "a" * 64, "orders-"],
    "package_name": ["orders_api", "json", "class", "flask", "Orders", "1orders", "a" * 65],
    "description": ["x", "", "x" * 201],
    "author_name": ["Jane Doe", ""],
    "author_email": ["you@example.com", "nobody"],
    "version": ["0.1.0", "1.0rc1", "v1"],
    "domain_name": ["api.example.com", "Bad Domain", "a" * 64 + ".com"],
    "owner": ["guests", "group:default/payments", "pay ments", "group:Default/payments"],
}


def test_form_refuses_what_the_pre_gen_hook_refuses(template_repo: Path, tmp_path: Path) -> None:
    """Backstage runs no hooks, so the form carries the hook's FORM_RULES: for each sample, ajv
    (the form's validator) and the hook's validate_field agree."""
    form = export(template_repo, tmp_path)["spec"]["parameters"][0]["properties"]
    hook = load_hook(template_repo / "template", "pre_gen_project")
    samples = [(key, value) for key, values in FORM_SAMPLES.items() for value in values]
    verdicts = backstage_node.schema_verdicts([(form[key], value) for key, value in samples])
    disagree = [
        (key, value[:20], accepted)
        for (key, value), accepted in zip(samples, verdicts, strict=True)
        if accepted != (hook.validate_field(key, value) is None)
    ]
    assert disagree == []


def test_form_refuses_the_combinations_the_pre_gen_hook_refuses(template_repo: Path, tmp_path: Path) -> None:
    """INCOMPATIBLE of the pre-gen hook (the template's own, kubernetes=yes with SQLite, docker=no or
    certbot, and two more a test repository gets)."""
    edit(
        template_repo / "hooks/pre_gen_project.py",
        "INCOMPATIBLE: tuple[tuple[Mapping[str, Any], str], ...] = (",
        'INCOMPATIBLE = (({"database": "none", "task_queue": "celery"}, "the export task reads the database"),'
        ' ({"docker": False, "ci": "gitlab"}, "a made-up rule"),',
    )
    commit_all(template_repo, "refuse two combinations")
    git(template_repo, "tag", "--force", "v1.0.0")
    page = export(template_repo, tmp_path / "all")["spec"]["parameters"][0]
    locks = tmp_path / "locks.toml"
    locks.write_text('[locked]\ndatabase = "none"\ndocker = true\n')
    locked_page = export(template_repo, tmp_path / "locked", "--preset", str(locks))["spec"]["parameters"][0]
    answers = {"project_slug": "orders-api", "package_name": "orders_api", "domain_name": "orders.example.com"}
    cases = [
        (page, {**answers, "database": "none", "task_queue": "celery"}, False),
        (page, {**answers, "database": "sqlite", "task_queue": "celery"}, True),
        (page, {**answers, "docker": False, "ci": "gitlab"}, False),
        (page, {**answers, "docker": True, "ci": "gitlab"}, True),
        (page, {**answers, "kubernetes": True, "database": "sqlite"}, False),
        (page, {**answers, "kubernetes": True, "database": "postgresql"}, True),
        (locked_page, {**answers, "task_queue": "celery"}, False),  # database is locked to none
        (locked_page, {**answers, "task_queue": "rq", "ci": "gitlab"}, True),  # docker is locked to yes
    ]
    assert backstage_node.schema_verdicts([(schema, value) for schema, value, _ in cases]) == [ok for *_, ok in cases]
    # Left by the locks: database=none refuses celery; kubernetes=yes with tls=certbot (the other
    # kubernetes rules name database=sqlite or docker=no, which the locks rule out).
    assert len(locked_page["allOf"]) == 2


def fetch_cookiecutter(template_dir: Path, values: dict[str, Any], workspace: Path, scratch: Path) -> None:
    """What Backstage's fetch:cookiecutter does with a local cookiecutter
    (@backstage/plugin-scaffolder-backend-module-cookiecutter 0.3.27, CookiecutterRunner.run): the
    fetched tree goes to template/{{cookiecutter and 'contents'}}, the tree's cookiecutter.json
    merged with the values is written to template/cookiecutter.json, `cookiecutter --no-input -o
    intermediate template --verbose` renders it (no hooks: there is no template/hooks), and the
    one directory made is copied into the workspace (targetPath ./)."""
    contents = scratch / "template" / "{{cookiecutter and 'contents'}}"
    shutil.copytree(template_dir, contents)
    context = {**json.loads((contents / "cookiecutter.json").read_text()), **values}
    (scratch / "template/cookiecutter.json").write_text(json.dumps(context))
    cookiecutter = Path(sys.executable).parent / "cookiecutter"
    env = {**os.environ, "HOME": str(scratch)}
    argv = [
        str(cookiecutter),
        "--no-input",
        "-o",
        str(scratch / "intermediate"),
        str(scratch / "template"),
        "--verbose",
    ]
    subprocess.run(argv, check=True, capture_output=True, env=env, timeout=120)
    [generated] = list((scratch / "intermediate").iterdir())
    shutil.copytree(generated, workspace, dirs_exist_ok=True)


def fs_delete(workspace: Path, files: list[str]) -> None:
    """Backstage's fs:delete: each entry is a globby pattern inside the workspace (dot files
    included); a directory expands to the files below it, which are removed (the empty
    directories stay, and git does not publish them)."""
    for entry in files:
        target = (workspace / entry).resolve()
        assert target.is_relative_to(workspace.resolve())
        for path in [p for p in target.rglob("*") if p.is_file()] if target.is_dir() else [target]:
            path.unlink(missing_ok=True)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "chosen",
    [
        {"docker": False, "task_queue": "rq", "auth": "oidc", "metrics": "none", "tracing": "opentelemetry"},
        {"kubernetes": True, "task_queue": "celery", "error_tracking": "sentry"},  # includes across the template
    ],
    ids=["no-docker-rq-oidc", "kubernetes-celery"],
)
def test_backstage_makes_the_project_flaskgen_new_makes(
    template_repo: Path, preset: Path, tmp_path: Path, chosen: dict[str, Any]
) -> None:
    """The template's steps, rendered by the scaffolder's engine for a form's answers and run the
    way Backstage's actions run (real cookiecutter), leave in ./<slug> (what publish pushes) the
    project `flaskgen new` makes from the same answers, except .cruft.json, which only the post-gen
    hook writes in the other front doors and a step of the template writes here from the same
    record: the same JSON, its non-ASCII characters not escaped (fetch:cookiecutter runs no hooks;
    see flaskgen/backstage.py)."""
    document = export(template_repo, tmp_path / "out", "--preset", str(preset))
    form = document["spec"]["parameters"][0]["properties"]
    answers = {name: prop["default"] for name, prop in form.items() if "default" in prop}
    answers |= {**NAMES, **chosen}
    [steps] = backstage_node.scaffold(document, [answers], base=tmp_path / "out")
    workspace = tmp_path / "workspace"
    for step in steps:
        if step["action"] == "fetch:cookiecutter":
            assert step["input"]["url"].endswith("/tree/v1.0.0/template")
            fetch_cookiecutter(template_repo / "template", step["input"]["values"], workspace, tmp_path / "fetch")
        elif step["action"] == "fs:delete":
            fs_delete(workspace, step["input"]["files"])
        elif step["action"] == "fetch:template:file":  # written only where nothing is (no `replace`)
            target = workspace / step["input"]["targetPath"]
            assert not target.exists()
            target.write_text(step["rendered"])
    publish = steps[-2]["input"]
    assert publish["sourcePath"] == "./orders-api"

    made = generate_project(
        template=str(template_repo), preset=load_preset(preset), overrides=answers, no_input=True,
        output_dir=tmp_path / "new", lock=False, use_user_config=False,
    )  # fmt: skip
    ours, theirs = tree(made.project_dir), tree(workspace / "orders-api")
    assert sorted(set(ours) ^ set(theirs)) == []
    assert [path for path in theirs if theirs[path] != ours[path] and path != ".cruft.json"] == []
    assert json.loads(theirs[".cruft.json"]) == json.loads(ours[".cruft.json"])
    check = runner.invoke(app, ["check", str(workspace / "orders-api"), "--template", str(template_repo)])
    assert check.exit_code == 0 and "at 1.0.0" in check.output, check.output

    # The same inputs through plain Cookiecutter's front door (hooks and all) make that project too.
    from cookiecutter.main import cookiecutter

    values = {**steps[0]["input"]["values"], "_uv_lock": False, "_git_init": False}  # as flaskgen new above
    plain = cookiecutter(str(template_repo), no_input=True, extra_context=values, output_dir=str(tmp_path / "plain"))
    assert tree(Path(plain)) == ours
    assert b'flaskgen/template-version: "v1.0.0"' in theirs["catalog-info.yaml"]


def test_prune_steps_match_the_hook_for_pairwise_answers(template_repo: Path, tmp_path: Path) -> None:
    """For every pair of option values (allpairspy), the fs:delete steps that run remove exactly
    what the post-gen hook's files_to_prune removes."""
    document = export(template_repo, tmp_path)
    hook = load_hook(template_repo / "template", "post_gen_project")
    with open_template(str(template_repo)) as tpl:
        choices = {n: list(o.choices or ()) for n, o in tpl.options.items() if o.kind in ("choice", "boolean")}
        text = {n: o.default for n, o in tpl.options.items() if o.kind == "text"}
    rows = [dict(zip(choices, row, strict=True)) for row in AllPairs(list(choices.values()))]
    answer_sets = [{**text, **NAMES, **row} for row in rows]
    for answers, steps in zip(answer_sets, backstage_node.scaffold(document, answer_sets, base=tmp_path), strict=True):
        deleted = sorted(f for s in steps if s["action"] == "fs:delete" for f in s["input"]["files"])
        assert deleted == sorted(f"./orders-api/{path}" for path in hook.files_to_prune(answers)), answers


@pytest.mark.parametrize(
    ("preset_text", "message"),
    [
        ('[locked]\ncolour = "blue"\n', "unknown option 'colour'"),
        ('[defaults]\ndatabase = "oracle"\n', "database='oracle' is not a valid choice"),
        ("[locked\n", "is not valid TOML"),
        ('colour = "blue"\n', "unknown key 'colour'"),
    ],
)
def test_bad_preset_is_one_line_exit_2_nothing_on_disk(
    template_repo: Path, tmp_path: Path, preset_text: str, message: str
) -> None:
    preset = tmp_path / "bad.toml"
    preset.write_text(preset_text)
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["backstage", "--template", str(template_repo), "--preset", str(preset), "-o", str(out)]
    )
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert not out.exists()


def test_unreadable_preset_and_unwritable_output_and_local_source(template_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    missing = runner.invoke(app, ["backstage", "--template", str(template_repo), "--preset", str(tmp_path / "no.toml"),
                                  "-o", str(out)])  # fmt: skip
    assert missing.exit_code == 2 and "cannot read preset" in missing.output and not out.exists()

    blocked = tmp_path / "file"
    blocked.write_text("")
    unwritable = runner.invoke(app, ["backstage", "--template", str(template_repo), "-o", str(blocked / "sub")])
    assert unwritable.exit_code == 2 and "choose a writable -o DIR" in unwritable.output, unwritable.output
    assert blocked.read_text() == "" and not (blocked.parent / "sub").exists()

    git(template_repo, "remote", "remove", "origin")  # a local path is nothing Backstage can fetch
    local = runner.invoke(app, ["backstage", "--template", str(template_repo), "-o", str(out)])
    assert local.exit_code == 2 and "not a repository URL Backstage can fetch" in local.output
    assert len(local.output.strip().splitlines()) == 1 and not out.exists()


def catalog_texts(project: Path) -> dict[str, Path]:
    document = next(yaml.safe_load_all((project / "catalog-info.yaml").read_text()))
    domain = document["metadata"]["links"][0]["url"].removesuffix("/openapi.json")
    return {f"{domain}/openapi.json": backstage_node.OPENAPI_STAND_IN}


def test_catalog_info_passes_backstage_validators(tmp_path: Path) -> None:
    made = generate_project(
        name="Orders API", no_input=True, output_dir=tmp_path, lock=False, use_user_config=False,
        overrides={"owner": "group:default/payments", "lifecycle": "production", "metrics": "none"},
    )  # fmt: skip
    project = made.project_dir
    assert backstage_node.validate(project / "catalog-info.yaml", texts=catalog_texts(project)) == [
        f"ok {project / 'catalog-info.yaml'}: component:default/orders-api",
        f"ok {project / 'catalog-info.yaml'}: api:default/orders-api",
    ]
    component, api = yaml.safe_load_all((project / "catalog-info.yaml").read_text())
    assert component["spec"] == {"type": "service", "lifecycle": "production", "owner": "group:default/payments",
                                 "providesApis": ["orders-api"]}  # fmt: skip
    assert api["spec"]["definition"] == {"$text": "https://orders-api.example.com/openapi.json"}
    record = json.loads((project / ".cruft.json").read_text())
    annotations = component["metadata"]["annotations"]
    assert annotations["flaskgen/template"] == record["template"]
    assert annotations["flaskgen/template-version"] == record["commit"]  # this checkout has no release tags


def test_owner_is_checked_by_the_pre_gen_hook(tmp_path: Path) -> None:
    hook = load_hook(REPO / "template", "pre_gen_project")
    for good in ("guests", "group:default/payments", "user:jane.doe", "team_a"):
        assert hook.validate_field("owner", good) is None, good
    for bad in ("group:Default/payments", "pay ments", "group:default/", "a" * 64, ""):
        assert hook.validate_field("owner", bad), bad
    result = runner.invoke(app, ["new", "Orders", "--no-input", "--set", "owner=pay ments", "-o", str(tmp_path)])
    assert result.exit_code == 2 and "not a Backstage entity reference" in result.output
    assert list(tmp_path.iterdir()) == []


def test_plain_cookiecutter_writes_the_annotations(template_repo: Path, tmp_path: Path) -> None:
    cookiecutter = Path(sys.executable).parent / "cookiecutter"
    argv = [str(cookiecutter), "--no-input", "-o", str(tmp_path / "out"), str(template_repo),
            "project_name=Orders API", "_uv_lock=false"]  # fmt: skip
    subprocess.run(argv, check=True, capture_output=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)})
    component = next(yaml.safe_load_all((tmp_path / "out/orders-api/catalog-info.yaml").read_text()))
    assert component["metadata"]["annotations"] == {"flaskgen/template": ORIGIN, "flaskgen/template-version": "v1.0.0"}


def test_update_to_a_new_release_moves_the_annotation(template_repo: Path, tmp_path: Path) -> None:
    made = generate_project(template=str(template_repo), name="Orders API", no_input=True, git=True, lock=False,
                            output_dir=tmp_path / "work", overrides={"database": "none"})  # fmt: skip
    project = made.project_dir
    assert 'flaskgen/template-version: "v1.0.0"' in (project / "catalog-info.yaml").read_text()
    edit(project / "catalog-info.yaml", "  annotations:\n", "  tags: [payments]\n  annotations:\n")  # the team's edit
    commit_all(project, "tag the service")

    edit(template_repo / SLUG / "README.md", "\n", "\n\n")
    edit(template_repo / "CHANGELOG.md", "## [Unreleased]\n", "## [Unreleased]\n\n## [1.1.0]\n- README spacing.\n")
    commit_all(template_repo, "release 1.1.0")
    git(template_repo, "tag", "v1.1.0")

    # --template: the recorded origin (a GitHub URL) is not reachable here; its local clone is.
    result = runner.invoke(app, ["update", str(project), "--no-input", "--template", str(template_repo)])
    assert result.exit_code == 0, result.output
    text = (project / "catalog-info.yaml").read_text()
    assert 'flaskgen/template-version: "v1.1.0"' in text and "  tags: [payments]\n" in text
    assert runner.invoke(app, ["check", str(project), "--template", str(template_repo)]).exit_code == 0
