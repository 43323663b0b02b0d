"""Unit tests of the template's hooks, imported as modules (their logic is plain functions)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import TEMPLATE, template_hook

pre = template_hook("pre_gen_project")
post = template_hook("post_gen_project")
OPTIONS = {k: v for k, v in json.loads((TEMPLATE / "cookiecutter.json").read_text()).items() if not k.startswith("_")}

GOOD = {
    "project_name": "Orders API",
    "project_slug": "orders-api",
    "package_name": "orders_api",
    "description": "Orders.",
    "author_name": "Ada",
    "author_email": "ada@example.com",
    "version": "0.1.0",
    "domain_name": "orders.example.com",
    "python_version": "3.12",
    "database": "sqlite",
    "task_queue": "none",
    "worker_class": "gthread",
    "auth": "none",
    "metrics": "prometheus",
    "tracing": "none",
    "error_tracking": "none",
    "log_format": "json",
    "docker": True,
    "kubernetes": False,
    "ci": "github",
    "tls": "none",
    "license": "MIT",
}


def test_good_answers_pass() -> None:
    assert pre is not None and post is not None
    assert pre.validate(GOOD, OPTIONS) is None


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("package_name", "class", "keyword"),
        ("package_name", "json", "standard library"),
        ("package_name", "logging", "standard library"),
        ("package_name", "test", "standard library"),
        ("package_name", "flask", "dependency"),
        ("package_name", "sqlalchemy", "dependency"),
        ("package_name", "Orders", "valid import name"),
        ("package_name", "1orders", "valid import name"),
        ("package_name", "a" * 65, "at most 64"),
        ("project_slug", "Orders_API", "kebab-case"),
        ("project_slug", "../evil", "path separator"),
        ("project_slug", "a/b", "path separator"),
        ("project_name", "", "empty"),
        ("project_name", "   ", "empty"),
        ("project_name", "x\ny", "control character"),
        ("project_name", "..", "path separator"),
        ("project_name", "1234", "no letter"),
        ("author_email", "nobody", "email"),
        ("version", "v1", "PEP 440"),
        ("domain_name", "Bad Domain", "host name"),
        ("description", "x" * 201, "at most 200"),
        ("database", "mysql", "choose one of: sqlite, postgresql, none"),
    ],
)
def test_bad_answers_are_refused(key: str, value: Any, fragment: str) -> None:
    problem = pre.validate({**GOOD, key: value}, OPTIONS)
    assert problem is not None and fragment in problem
    assert "\n" not in problem


def test_combinations_table_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pre, "INCOMPATIBLE", (({"database": "none", "task_queue": "celery"}, "no reason"),))
    assert "cannot be combined" in pre.validate({**GOOD, "database": "none", "task_queue": "celery"}, OPTIONS)
    assert pre.validate(GOOD, OPTIONS) is None


@pytest.mark.parametrize("kubernetes", [True, "yes", "y"])
def test_kubernetes_with_sqlite_is_refused(kubernetes: Any) -> None:
    """Pods cannot share a SQLite file: one line naming both answers and the way out."""
    problem = pre.validate({**GOOD, "kubernetes": kubernetes}, OPTIONS)
    assert problem is not None and problem.startswith("database=sqlite, kubernetes=yes cannot be combined")
    assert "choose database=postgresql or none, or kubernetes=no" in problem and "\n" not in problem
    assert pre.validate({**GOOD, "kubernetes": kubernetes, "database": "postgresql"}, OPTIONS) is None
    assert pre.validate({**GOOD, "kubernetes": "no"}, OPTIONS) is None


def test_kubernetes_without_docker_is_refused() -> None:
    """The pods run the image the Dockerfile builds."""
    answers = {**GOOD, "database": "postgresql", "kubernetes": True}
    problem = pre.validate({**answers, "docker": "no"}, OPTIONS)
    assert problem is not None and problem.startswith("docker=no, kubernetes=yes cannot be combined")
    assert pre.validate({**answers, "docker": True}, OPTIONS) is None


def test_kubernetes_with_certbot_is_refused() -> None:
    """The pods' Nginx serves plain HTTP behind the Gateway: certbot's certificate paths would stop it."""
    answers = {**GOOD, "database": "postgresql", "kubernetes": True}
    problem = pre.validate({**answers, "tls": "certbot"}, OPTIONS)
    assert problem is not None and problem.startswith("tls=certbot, kubernetes=yes cannot be combined")
    assert pre.validate(answers, OPTIONS) is None


def test_pre_gen_main_exits_1_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert pre.main({**GOOD, "package_name": "json"}, OPTIONS) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("ERROR: package_name 'json'") and "\n" not in err


@pytest.mark.parametrize(
    ("answers", "gone"),
    [
        ({"database": "none"}, ["migrations", "src/orders_api/models.py", "tests/test_items.py"]),
        ({"task_queue": "none"}, ["src/orders_api/tasks.py", "deploy/systemd/orders-api-worker.service"]),
        ({"task_queue": "celery"}, ["src/orders_api/queue_rq.py"]),
        ({"task_queue": "rq"}, ["src/orders_api/queue_celery.py"]),
        ({"docker": False}, ["Dockerfile", "compose.yaml", ".dockerignore"]),
        ({"ci": "github"}, [".gitlab-ci.yml", "renovate.json"]),
        ({"ci": "gitlab"}, [".github"]),
        ({"ci": "none"}, [".github", ".gitlab-ci.yml", "renovate.json"]),
        ({"metrics": "none"}, ["src/orders_api/metrics.py", "tests/test_metrics.py"]),
        ({"auth": "none"}, ["src/orders_api/auth.py", "tests/test_auth.py", "tests/oidc.py"]),
        ({"tracing": "none", "error_tracking": "none"}, ["src/orders_api/tracing.py", "src/orders_api/sentry.py"]),
    ],
)
def test_post_gen_prunes_unchosen_files(tmp_path: Path, answers: dict[str, Any], gone: list[str]) -> None:
    none = {"database": "none", "task_queue": "none", "docker": False, "ci": "none", "metrics": "none"}
    pruned = post.files_to_prune({**GOOD, **none})
    every = [path for path in pruned if not any(path.startswith(f"{other}/") for other in pruned)]
    for relative in every:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x")
    post.main({**GOOD, **answers, "_git_init": False}, root=tmp_path)
    for relative in gone:
        assert not (tmp_path / relative).exists(), relative
    kept = set(every) - set(post.files_to_prune({**GOOD, **answers}))
    for relative in kept:
        assert (tmp_path / relative).exists(), relative


@pytest.mark.parametrize(
    ("answers", "gone", "kept"),
    [
        ({"kubernetes": False, "task_queue": "rq", "database": "postgresql"}, ["deploy/kubernetes"], ["Dockerfile"]),
        (
            {"kubernetes": True, "database": "postgresql"},
            ["deploy/kubernetes/worker.yaml"],
            ["deploy/kubernetes/deployment.yaml", "deploy/kubernetes/migrate/job.yaml", "Dockerfile"],
        ),
        (
            {"kubernetes": True, "database": "none", "task_queue": "rq"},
            ["deploy/kubernetes/migrate"],
            ["deploy/kubernetes/worker.yaml", "compose.yaml"],
        ),
    ],
)
def test_post_gen_prunes_kubernetes_files(
    tmp_path: Path, answers: dict[str, Any], gone: list[str], kept: list[str]
) -> None:
    """deploy/kubernetes only when chosen, its worker and migration only with a queue and PostgreSQL."""
    tree = ["Dockerfile", "compose.yaml", ".dockerignore", "deploy/kubernetes/deployment.yaml",
            "deploy/kubernetes/worker.yaml", "deploy/kubernetes/migrate/job.yaml"]  # fmt: skip
    for relative in tree:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x")
    post.main({**GOOD, "task_queue": "none", **answers, "_git_init": False}, root=tmp_path)
    assert [relative for relative in gone if (tmp_path / relative).exists()] == []
    assert [relative for relative in kept if not (tmp_path / relative).exists()] == []


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_post_gen_git_init_makes_one_commit(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("hello\n")
    assert post.git_init(tmp_path, GOOD)
    log = subprocess.run(["git", "log", "--format=%s"], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert log.stdout.strip() == "Initial commit from flaskgen"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_post_gen_git_init_leaves_an_existing_repository_alone(tmp_path: Path) -> None:
    """`cookiecutter -f` over a project under git: the user's history gets no commit of ours, and
    nothing of theirs is staged."""
    (tmp_path / "README.md").write_text("hello\n")
    assert post.git_init(tmp_path, GOOD)
    (tmp_path / "README.md").write_text("my edit\n")
    assert not post.git_init(tmp_path, GOOD)
    log = subprocess.run(["git", "log", "--format=%s"], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert log.stdout.splitlines() == ["Initial commit from flaskgen"]
    status = subprocess.run(["git", "status", "--porcelain"], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert status.stdout == " M README.md\n"


def test_post_gen_git_only_when_asked(tmp_path: Path) -> None:
    post.main({**GOOD, "_git_init": False}, root=tmp_path)
    assert not (tmp_path / ".git").exists()


def test_post_gen_removes_bytecode(tmp_path: Path) -> None:
    (tmp_path / "src/pkg/__pycache__").mkdir(parents=True)
    (tmp_path / "src/pkg/__pycache__/config.cpython-311.pyc").write_bytes(b"stale")
    (tmp_path / "src/pkg/config.py").write_text("x = 1\n")
    assert post.remove_bytecode(tmp_path) == ["src/pkg/__pycache__"]
    assert (tmp_path / "src/pkg/config.py").exists()
