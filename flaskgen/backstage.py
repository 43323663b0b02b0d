"""`flaskgen backstage`: the template offered in Backstage, as a software template
(`scaffolder.backstage.io/v1beta3`).

The form asks one parameter per template option (the `flaskgen options` list: `__prompts__`
titles, choices as enums, the template's defaults with the preset's over them); the preset's
locked answers are fixed values, never asked. The steps:

1. `fetch:cookiecutter` renders the template's directory at its release (a tag, else the commit).
   Backstage's action runs no template hooks: it puts the fetched tree one directory below the
   one it hands to Cookiecutter (`{{cookiecutter and 'contents'}}`), and Cookiecutter looks for
   `hooks/` beside the cookiecutter.json it is given. So the project arrives unpruned at
   `./<project_slug>`, beside rendered copies of the template's own files.
2. `fs:delete` steps prune it: one per answer that removes files, with an `if:` on that answer,
   computed here from the post-gen hook's own `files_to_prune(answers)` (its single source).
   The pre-gen hook does not run in Backstage either; the form holds the choices as enums, the
   hook's FORM_RULES (patterns, lengths, names refused) and its INCOMPATIBLE combinations.
3. `publish:github` or `publish:gitlab` (the `publisher` argument) publishes `./<project_slug>`.
4. `fetch:template:file` writes the answers file (`.cruft.json`) the post-gen hook would have
   written, from the hook's own `answers_record` with the form's answers in it, so `flaskgen
   check`/`update` (and cruft) work on a project the portal made.
5. `catalog:register` registers its catalog-info.yaml.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flaskgen.errors import OutputDirError, TemplateError

if TYPE_CHECKING:  # the CLI imports Publisher from here: `flaskgen --help` must not pay for the rest
    from flaskgen.presets import Preset
    from flaskgen.template import Option, Template

__all__ = [
    "ANSWERS_TEMPLATE",
    "TEMPLATE_FILE",
    "Publisher",
    "prune_steps",
    "software_template",
    "to_yaml",
    "write_software_template",
]

TEMPLATE_FILE = "template.yaml"
ANSWERS_TEMPLATE = "cruft.json.njk"
"""Beside template.yaml: the answers file as a Backstage template file (fetch:template:file)."""
ANSWERS_TEMPLATE_TEXT = "${{ values.record | dump(2) }}\n"


class Publisher(StrEnum):
    """Where Backstage creates the new repository: the scaffolder's `publish:<name>` action."""

    github = "github"
    gitlab = "gitlab"


_PROJECT = "${{ parameters.project_slug }}"


def _web_tree_url(source: str, ref: str, directory: str | None, publisher: Publisher) -> str:
    """The browser URL of the template's directory at ref, the form Backstage's URL readers fetch
    (GitHub `.../tree/REF/DIR`, GitLab `.../-/tree/REF/DIR`)."""
    match = re.fullmatch(r"(?:https?://|ssh://git@|git@)([^/:]+)[/:](.+?)(?:\.git)?/?", source)
    if match is None:
        raise TemplateError(
            f"template source {source!r} is not a repository URL Backstage can fetch; "
            'set template = "https://<host>/<org>/<repo>" in the preset, or give --template that URL'
        )
    host, path = match.groups()
    gitlab = "gitlab" in host or (publisher is Publisher.gitlab and "github" not in host)
    tree = "-/tree" if gitlab else "tree"
    return f"https://{host}/{path}/{tree}/{ref}" + (f"/{directory}" if directory else "")


def _release_ref(tpl: Template) -> str:
    """The release tag at the template's commit, else the commit itself."""
    if not tpl.commit:
        raise TemplateError(
            f"template {tpl.source} is not in a git repository, so it has no release to point Backstage at; "
            "use a template repository (--template URL, or template = in the preset)"
        )
    from flaskgen.releases import list_releases
    from flaskgen.template import repository_root

    root = repository_root(tpl)
    releases = list_releases(root) if root is not None else []
    return next((release.tag for release in releases if release.commit == tpl.commit), tpl.commit)


def _origin_values(tpl: Template, ref: str) -> dict[str, str]:
    """The template's private origin variables, which its catalog-info.yaml names (the post-gen
    hook, which Backstage does not run, would otherwise fill them): source, commit, directory,
    and the version as the hook's own `template_version` words it."""
    origin = {"template": tpl.source, "commit": tpl.commit}
    version = tpl.hooks.template_version(origin, {"_repo_dir": str(tpl.path)}) or ref
    wanted = {**tpl.origin_context(), "_answers_version": version}
    return {key: value for key, value in wanted.items() if value}


def _answers_step(tpl: Template, values: Mapping[str, Any], locked: Mapping[str, Any]) -> dict[str, Any]:
    """The step that writes the answers file: the post-gen hook's `answers_record` of the values
    fetch:cookiecutter gets (form answers as `${{ parameters.* }}`, which the scaffolder fills in
    with their types), rendered as JSON by ANSWERS_TEMPLATE."""
    record = tpl.hooks.answers_record(values)
    if record is None:
        raise TemplateError(f"template {tpl.source} has no post-gen answers_record; fix the template")
    name = tpl.hooks.answers_file
    return {
        "id": "answers",
        "name": f"Record the template and answers in {name} (for flaskgen check and update)",
        "action": "fetch:template:file",
        "input": {
            "url": f"./{ANSWERS_TEMPLATE}",
            "targetPath": f"./{_project_dir(locked)}/{name}",
            "values": {"record": record},
        },
    }


def _parameter(option: Option, default: Any) -> dict[str, Any]:
    """One option as a JSON Schema property of the form."""
    prop: dict[str, Any] = {"title": option.prompt or option.name}
    if option.kind == "boolean":
        prop["type"] = "boolean"
    else:
        prop["type"] = "string"
    if option.kind == "choice":
        assert option.choices is not None
        prop["enum"] = [str(choice) for choice in option.choices]
    if option.kind == "derived" and default == option.default:
        prop["description"] = f"Cookiecutter's default is {option.default}; Backstage forms cannot compute it."
    else:
        prop["default"] = str(default) if option.kind == "choice" else default
    if option.name == "owner":
        prop["ui:field"] = "OwnerPicker"
        prop["ui:options"] = {"catalogFilter": {"kind": ["Group", "User"]}}
    return prop


def _asked(tpl: Template, locked: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The form's first page: every option not locked (derived ones without a default are
    required), with the pre-gen hook's FORM_RULES (the part of its checks a form can make)."""
    rules = tpl.hooks.form_rules
    properties = {
        name: {**_parameter(option, defaults.get(name, option.default)), **rules.get(name, {})}
        for name, option in tpl.options.items()
        if name not in locked
    }
    required = [name for name, prop in properties.items() if "default" not in prop and prop["type"] == "string"]
    page: dict[str, Any] = {"title": "The service", "required": required, "properties": properties}
    refused = _refused_combinations(tpl.hooks.incompatible, locked)
    if refused:
        page["allOf"] = refused
    return page


def _refused_combinations(
    incompatible: Iterable[tuple[Mapping[str, Any], str]], locked: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The pre-gen hook's INCOMPATIBLE combinations as JSON Schema the form enforces: one
    `not` per combination still possible under the locks (locked answers that match drop out of
    it; a combination a lock rules out is left out)."""
    refused = []
    for combination, reason in incompatible:
        if any(key in locked and locked[key] != value for key, value in combination.items()):
            continue
        asked = {key: value for key, value in combination.items() if key not in locked}
        if asked:
            match = {"properties": {key: {"const": value} for key, value in asked.items()}, "required": list(asked)}
            refused.append({"not": match, "description": f"Refused: {reason}"})
    return refused


def _value(name: str, locked: Mapping[str, Any]) -> Any:
    """What fetch:cookiecutter passes for an option: the locked answer, else the form's."""
    if name in locked:
        return locked[name]
    return f"${{{{ parameters.{name} }}}}"


def _condition(name: str, values: list[Any]) -> str:
    """A Backstage `if:` that holds when the answer `name` is one of values."""
    if all(isinstance(value, bool) for value in values) and len(values) == 1:
        return f"${{{{ parameters.{name} }}}}" if values[0] else f"${{{{ not parameters.{name} }}}}"
    tests = " or ".join(f"parameters.{name} == {json.dumps(str(value))}" for value in values)
    return f"${{{{ {tests} }}}}"


def prune_steps(tpl: Template, locked: Mapping[str, Any], base: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`fs:delete` steps doing what the post-gen hook's `files_to_prune(answers)` does.

    Each path the hook may prune is attributed to the one answer whose value decides it (found
    by varying one answer at a time from base); a path decided by two answers together cannot be
    written as one `if:` and is an error, as is a template whose hook has no `files_to_prune`.
    Paths name the package and project through the form's answers."""
    if tpl.hooks.files_to_prune(base) is None:
        raise TemplateError(
            f"template {tpl.source} has no post-gen files_to_prune(answers) to translate; fix the template"
        )
    markers = {"project_slug": "\0slug\0", "package_name": "\0package\0"}
    names = {**base, **{key: markers[key] for key in markers if key not in locked}}

    def pruned(answers: Mapping[str, Any]) -> set[str]:
        return set(tpl.hooks.files_to_prune(answers) or ())

    variable = [n for n, o in tpl.options.items() if o.kind in ("choice", "boolean") and n not in locked]
    outcomes = {(n, v): pruned({**names, n: v}) for n in variable for v in tpl.options[n].choices or ()}
    always = pruned(names)
    groups: dict[tuple[str, tuple[Any, ...]], list[str]] = defaultdict(list)
    for path in sorted(set().union(always, *outcomes.values())):
        deciding = {n for n in variable if len({path in outcomes[n, v] for v in tpl.options[n].choices or ()}) > 1}
        if len(deciding) > 1:
            raise TemplateError(
                f"the template prunes {path} by {', '.join(sorted(deciding))} together; fix the template"
            )
        if not deciding:
            groups["", ()].append(path)
            continue
        (name,) = deciding
        groups[name, tuple(v for v in tpl.options[name].choices or () if path in outcomes[name, v])].append(path)
    order = list(tpl.options)
    steps = []
    for (name, values), paths in sorted(
        groups.items(), key=lambda group: order.index(group[0][0]) if group[0][0] else -1
    ):
        shown = [
            p.replace(markers["project_slug"], _PROJECT).replace(
                markers["package_name"], "${{ parameters.package_name }}"
            )
            for p in paths
        ]
        step: dict[str, Any] = {
            "id": "prune" + (f"-{name}-" + "-".join(_shown(v).lower() for v in values) if name else ""),
            "name": f"Remove the files {name}={'/'.join(map(_shown, values))} leaves out"
            if name
            else "Remove unused files",
        }
        if name:
            step["if"] = _condition(name, list(values))
        step["action"] = "fs:delete"
        step["input"] = {"files": [f"./{_project_dir(locked)}/{path}" for path in shown]}
        steps.append(step)
    return steps


def _shown(value: Any) -> str:
    """An answer as `flaskgen new --set` takes it (booleans as yes/no)."""
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def _project_dir(locked: Mapping[str, Any]) -> str:
    return str(locked["project_slug"]) if "project_slug" in locked else _PROJECT


def software_template(
    *,
    template: str | None = None,
    checkout: str | None = None,
    preset: Preset | None = None,
    publisher: Publisher | None = None,
) -> dict[str, Any]:
    """The Backstage software template (a v1beta3 Template entity) for a template and preset.

    template/checkout: as for `flaskgen new` (None: the preset's template, else the bundled one);
    its recorded source must be a GitHub or GitLab repository URL, which Backstage fetches at the
    release tag of the template's commit (the commit when it is no release). publisher: None
    for the preset's `ci` answer (locked, else default) when it is github or gitlab, else github."""
    from flaskgen.template import open_template

    if template is None and preset is not None and preset.template:
        template, checkout = preset.template, checkout or preset.checkout
    with open_template(template, checkout) as tpl:
        checked = preset.checked(tpl.options) if preset is not None else None
        locked = dict(checked.locked) if checked else {}
        defaults = dict(checked.defaults) if checked else {}
        if publisher is None:
            ci = str(locked.get("ci", defaults.get("ci", "")))
            publisher = Publisher(ci) if ci in Publisher.__members__ else Publisher.github
        ref = _release_ref(tpl)
        url = _web_tree_url(tpl.source, ref, tpl.directory, publisher)
        base = {name: locked.get(name, defaults.get(name, option.default)) for name, option in tpl.options.items()}
        prunes = prune_steps(tpl, locked, base)
        values = {name: _value(name, locked) for name in tpl.options}
        values.update(_origin_values(tpl, ref))
        record_step = _answers_step(tpl, values, locked)
        name = re.sub(r"[^a-z0-9]+", "-", Path(str(checked.path)).stem.lower()).strip("-") if checked else ""
        page = _asked(tpl, locked, defaults)
    project = _project_dir(locked)
    repository = {
        "title": "Repository",
        "required": ["repoUrl"],
        "properties": {
            "repoUrl": {
                "title": "Where Backstage creates the service's repository",
                "type": "string",
                "ui:field": "RepoUrlPicker",
                "ui:options": {"allowedHosts": [f"{publisher.value}.com"]},
            }
        },
    }
    publish_input: dict[str, Any] = {
        "repoUrl": "${{ parameters.repoUrl }}",
        "defaultBranch": "main",
        "sourcePath": f"./{project}",
    }
    if publisher is Publisher.github:
        publish_input["description"] = values.get("description", "")
    steps = [
        {
            "id": "render",
            "name": "Render the flaskgen template",
            "action": "fetch:cookiecutter",
            "input": {"url": url, "values": values},
        },
        *prunes,
        record_step,
        {
            "id": "publish",
            "name": f"Publish to {publisher.value}",
            "action": f"publish:{publisher.value}",
            "input": publish_input,
        },
        {
            "id": "register",
            "name": "Register in the catalog",
            "action": "catalog:register",
            "input": {
                "repoContentsUrl": "${{ steps.publish.output.repoContentsUrl }}",
                "catalogInfoPath": "/catalog-info.yaml",
            },
        },
    ]
    suffix = f"-{name}" if name else ""
    return {
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {
            "name": f"flaskgen-service{suffix}"[:63].strip("-"),
            "title": "Flask service (flaskgen)" + (f", preset {checked.path.name}" if checked else ""),
            "description": f"A production Flask service behind Gunicorn and Nginx, from the flaskgen template ({url}).",
            "tags": ["python", "flask", "flaskgen"],
        },
        "spec": {
            "owner": str(locked.get("owner", defaults.get("owner", "guests"))),
            "type": "service",
            "parameters": [page, repository],
            "steps": steps,
            "output": {
                "links": [
                    {"title": "Repository", "url": "${{ steps.publish.output.remoteUrl }}"},
                    {
                        "title": "Open in catalog",
                        "icon": "catalog",
                        "entityRef": "${{ steps.register.output.entityRef }}",
                    },
                ]
            },
        },
    }


def to_yaml(document: Mapping[str, Any]) -> str:
    """template.yaml's text: block style, except long lists of words (the names a field refuses)
    on wrapped lines."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def sequence(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
        flow = len(data) > 8 and all(isinstance(item, str) for item in data)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)

    Dumper.add_representer(list, sequence)
    return yaml.dump(dict(document), Dumper=Dumper, sort_keys=False, allow_unicode=True, width=120)


def write_software_template(document: Mapping[str, Any], output_dir: str | os.PathLike[str]) -> Path:
    """Write template.yaml and ANSWERS_TEMPLATE into output_dir (created if needed); each is
    written to a temporary file beside it and renamed into place, so a failure leaves no partial
    file (and no directory this call created). Returns template.yaml's path."""
    directory = Path(output_dir)
    created = [p for p in (directory, *directory.parents) if not p.exists()]
    contents = {ANSWERS_TEMPLATE: ANSWERS_TEMPLATE_TEXT, TEMPLATE_FILE: to_yaml(document)}
    staged: list[tuple[str, str]] = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in contents.items():
            handle, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=directory)
            staged.append((temporary, name))
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
    except OSError as err:
        for temporary, _ in staged:
            Path(temporary).unlink(missing_ok=True)
        for path in created:
            if path.is_dir():
                path.rmdir()
        raise OutputDirError(f"cannot write in {directory}: {err.strerror}; choose a writable -o DIR") from err
    for temporary, name in staged:
        os.replace(temporary, directory / name)
    return directory / TEMPLATE_FILE
