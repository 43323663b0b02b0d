"""Validate the answers before Cookiecutter writes the project.

Each rule is a small function that returns a one-line problem (with the fix) or None.
`validate()` runs them all and returns the first problem. flaskgen imports this module to
check answers before it renders anything, so `flaskgen new` and plain `cookiecutter` apply
exactly the same rules. Cookiecutter renders this file with Jinja before running it; the
only template expressions are in the `__main__` block, so the module also imports unrendered.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

MAX_NAME_LENGTH = 64
SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PACKAGE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# PEP 440 public versions, the common subset: 1.2.3, 1.0a1, 2.0.post1, 0.1.dev3.
VERSION_RE = re.compile(r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$")
# A Backstage entity reference, [kind:][namespace/]name, by the rules of Backstage's own validators
# (@backstage/catalog-model): kind letters and digits, namespace a DNS label, name [A-Za-z0-9] runs
# joined by single - _ or . (its length, at most 63, is checked apart).
OWNER_RE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9]*:)?(?:[a-z0-9]+(?:-[a-z0-9]+)*/)?([A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)*)$")
CATALOG_NAME_LENGTH = 63
"""Backstage's limit for an entity name: project_slug names the service in catalog-info.yaml."""
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")

# Import names the generated project depends on or its tooling uses: a package with one of
# these names would shadow the real one (`import flask` would import the project).
DEPENDENCY_NAMES = frozenset(
    {
        "alembic", "celery", "click", "conftest", "coverage", "flask", "flask_migrate",
        "flask_sqlalchemy", "gevent", "gunicorn", "itsdangerous", "jinja2", "kombu",
        "markupsafe", "mypy", "pip", "psycopg", "pytest", "redis", "rq", "ruff",
        "setuptools", "sqlalchemy", "src", "tests", "werkzeug", "wsgi",
    }
)  # fmt: skip
STDLIB_NAMES = frozenset(getattr(sys, "stdlib_module_names", ())) | {"test"}

# Option combinations the template refuses: (answers that must all match, reason).
# Each entry needs a test in tests/test_hooks.py.
INCOMPATIBLE: tuple[tuple[Mapping[str, Any], str], ...] = (
    (
        {"database": "sqlite", "kubernetes": True},
        "the pods of a Deployment cannot share one SQLite file; choose database=postgresql or none, or kubernetes=no",
    ),
    (
        {"docker": False, "kubernetes": True},
        "the pods run the image the Dockerfile builds; choose docker=yes, or kubernetes=no",
    ),
    (
        {"tls": "certbot", "kubernetes": True},
        "the cluster's Gateway terminates TLS and the pods hold no certbot certificates; choose tls=none",
    ),
)

Check = Callable[[Any], "str | None"]


def check_free_text(key: str, value: Any, *, max_length: int = 200) -> str | None:
    """A one-line text answer: a non-empty string with no control characters."""
    if not isinstance(value, str) or not value.strip():
        return f"{key} is empty; give a non-empty value"
    if len(value) > max_length:
        return f"{key} is {len(value)} characters long; use at most {max_length}"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return f"{key} contains a control character or newline; use one plain line"
    return None


def check_no_path(key: str, value: str) -> str | None:
    """Names become directory names: refuse separators and parent references."""
    if "/" in value or "\\" in value or ".." in value:
        return f"{key} {value!r} contains a path separator or '..'; use a plain name"
    return None


def check_project_name(value: Any) -> str | None:
    problem = check_free_text("project_name", value, max_length=MAX_NAME_LENGTH)
    if problem:
        return problem
    problem = check_no_path("project_name", value)
    if problem:
        return problem
    if not re.search(r"[A-Za-z]", value):
        return f"project_name {value!r} has no letter; start it with a letter, e.g. 'Orders API'"
    return None


def check_project_slug(value: Any) -> str | None:
    problem = check_free_text("project_slug", value, max_length=MAX_NAME_LENGTH)
    if problem:
        return problem
    problem = check_no_path("project_slug", value)
    if problem:
        return problem
    if len(value) > CATALOG_NAME_LENGTH:
        return f"project_slug is {len(value)} characters long; use at most {CATALOG_NAME_LENGTH} (a Backstage name)"
    if not SLUG_RE.match(value):
        return (
            f"project_slug {value!r} is not kebab-case; use lowercase letters, digits "
            "and single hyphens, starting with a letter (e.g. 'orders-api')"
        )
    return None


def check_package_name(value: Any) -> str | None:
    problem = check_free_text("package_name", value, max_length=MAX_NAME_LENGTH)
    if problem:
        return problem
    problem = check_no_path("package_name", value)
    if problem:
        return problem
    if not PACKAGE_RE.match(value) or not value.isidentifier():
        return (
            f"package_name {value!r} is not a valid import name; use lowercase letters, "
            "digits and underscores, starting with a letter (e.g. 'orders_api')"
        )
    if keyword.iskeyword(value):
        return f"package_name {value!r} is a Python keyword; choose another name"
    if value in STDLIB_NAMES:
        return f"package_name {value!r} shadows the standard library module; choose another name"
    if value in DEPENDENCY_NAMES:
        return f"package_name {value!r} shadows a dependency or tool of the project; choose another name"
    return None


def check_author_email(value: Any) -> str | None:
    problem = check_free_text("author_email", value, max_length=254)
    if problem:
        return problem
    if not EMAIL_RE.match(value):
        return f"author_email {value!r} is not an email address; use e.g. 'you@example.com'"
    return None


def check_version(value: Any) -> str | None:
    problem = check_free_text("version", value, max_length=32)
    if problem:
        return problem
    if not VERSION_RE.match(value):
        return f"version {value!r} is not a PEP 440 version; use e.g. '0.1.0'"
    return None


def check_domain_name(value: Any) -> str | None:
    problem = check_free_text("domain_name", value, max_length=253)
    if problem:
        return problem
    if not DOMAIN_RE.match(value):
        return f"domain_name {value!r} is not a lowercase host name; use e.g. 'api.example.com'"
    return None


def check_owner(value: Any) -> str | None:
    problem = check_free_text("owner", value)
    if problem:
        return problem
    match = OWNER_RE.match(value)
    if match is None or len(match[1]) > CATALOG_NAME_LENGTH:
        return f"owner {value!r} is not a Backstage entity reference; use e.g. 'group:default/payments' or 'payments'"
    return None


FIELD_CHECKS: dict[str, Check] = {
    "project_name": check_project_name,
    "project_slug": check_project_slug,
    "package_name": check_package_name,
    "description": lambda value: check_free_text("description", value),
    "author_name": lambda value: check_free_text("author_name", value, max_length=100),
    "author_email": check_author_email,
    "version": check_version,
    "domain_name": check_domain_name,
    "owner": check_owner,
}


FORM_RULES: dict[str, dict[str, Any]] = {
    "project_name": {"minLength": 1, "maxLength": MAX_NAME_LENGTH, "pattern": "[A-Za-z]"},
    "project_slug": {"pattern": SLUG_RE.pattern, "maxLength": CATALOG_NAME_LENGTH},
    "package_name": {
        "pattern": PACKAGE_RE.pattern,
        "maxLength": MAX_NAME_LENGTH,
        "not": {
            "enum": sorted(n for n in set(keyword.kwlist) | STDLIB_NAMES | DEPENDENCY_NAMES if PACKAGE_RE.match(n))
        },
    },
    "description": {"minLength": 1, "maxLength": 200},
    "author_name": {"minLength": 1, "maxLength": 100},
    "author_email": {"pattern": EMAIL_RE.pattern, "maxLength": 254},
    "version": {"pattern": VERSION_RE.pattern, "maxLength": 32},
    "domain_name": {"pattern": DOMAIN_RE.pattern},
    "owner": {"pattern": OWNER_RE.pattern, "maxLength": 200},
}
"""What FIELD_CHECKS says that a JSON Schema can say too (patterns, lengths, names refused), for
forms that ask these answers where the hooks do not run (`flaskgen backstage`'s software template).
Never stricter than FIELD_CHECKS; the control-character and path rules are left to them."""


def check_choices(answers: Mapping[str, Any], options: Mapping[str, Any]) -> str | None:
    """Every choice answer is one of the template's choices (Cookiecutter checks this only
    for values given on its command line, not for replayed or hand-written contexts)."""
    for key, choices in options.items():
        if isinstance(choices, list) and key in answers and answers[key] not in choices:
            valid = ", ".join(map(str, choices))
            return f"{key} {answers[key]!r} is not a valid choice; choose one of: {valid}"
    return None


def _answer_is(answer: Any, value: Any) -> bool:
    """answer equals value; a yes/no value also matches Cookiecutter's yes and no words."""
    if isinstance(value, bool) and isinstance(answer, str):
        from cookiecutter.prompt import YesNoPrompt

        return (answer.strip().lower() in YesNoPrompt.yes_choices) == value
    return bool(answer == value)


def check_combinations(answers: Mapping[str, Any]) -> str | None:
    """Refuse the combinations listed in INCOMPATIBLE."""
    for combination, reason in INCOMPATIBLE:
        if all(_answer_is(answers.get(key), value) for key, value in combination.items()):
            shown = {True: "yes", False: "no"}
            chosen = ", ".join(f"{key}={shown.get(value, value)}" for key, value in combination.items())
            return f"{chosen} cannot be combined: {reason}"
    return None


def validate_field(key: str, value: Any) -> str | None:
    """The problem with one answer, or None (unknown keys have no rule)."""
    check = FIELD_CHECKS.get(key)
    return check(value) if check else None


def validate(answers: Mapping[str, Any], options: Mapping[str, Any] | None = None) -> str | None:
    """The first problem with a complete set of answers, or None when they are all valid."""
    for key in FIELD_CHECKS:
        if key in answers:
            problem = validate_field(key, answers[key])
            if problem:
                return problem
    if options is not None:
        problem = check_choices(answers, options)
        if problem:
            return problem
    return check_combinations(answers)


def main(answers: Mapping[str, Any], options: Mapping[str, Any] | None) -> int:
    """options is None under cruft, whose context has no `_cookiecutter` (choices unchecked then)."""
    problem = validate(answers, options)
    if problem:
        print(f"ERROR: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(
        main(
            json.loads(r"""{{ cookiecutter | jsonify }}"""),
            json.loads(r"""{{ _cookiecutter | default(none) | jsonify }}"""),
        )
    )
