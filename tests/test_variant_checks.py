"""The matrix's own detectors catch what they are for (so a clean matrix means something)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import write_tree
from tests.variants import (
    OPTIONS,
    empty_files,
    full_variants,
    leftover_jinja,
    pairwise_variants,
    prunable_paths,
    pruned_paths,
    secrets_found,
    variant_id,
    yaml_problems,
)


def test_detectors_find_the_problems(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "key.pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n",
            ".env.example": "DATABASE_URL=postgresql://app:s3cret@db/app\nOK_URL=postgresql://app:CHANGE_ME@db/app\n",
            "README.md": "Hello {{ cookiecutter.project_name }}\n",
            "ci.yml": "a: [unclosed\n",
            "empty.txt": "",
        },
    )
    assert {hit.split(":")[0] for hit in secrets_found(root)} == {"key.pem", ".env.example"}
    assert leftover_jinja(root) == ["README.md: '{{ cookiecutter'"]
    assert empty_files(root) == ["empty.txt"]
    assert [problem.split(":")[0] for problem in yaml_problems(root)] == ["ci.yml"]


def test_pairwise_covers_every_pair() -> None:
    variants = pairwise_variants()
    names = list(OPTIONS)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            for a in OPTIONS[first]:
                for b in OPTIONS[second]:
                    assert any(v[first] == a and v[second] == b for v in variants), (first, a, second, b)
    assert len({variant_id(v) for v in variants}) == len(variants)


def test_full_tier_is_the_behavioural_product_with_every_file_only_value() -> None:
    variants = full_variants()
    assert len(variants) == 3 * 3 * 3 * 2
    for name, values in OPTIONS.items():
        assert {repr(v[name]) for v in variants} == {repr(value) for value in values}, name


def test_prune_list_is_the_hooks() -> None:
    """The matrix reads the post-gen hook's own list: what no-queue prunes, celery keeps."""
    none = pruned_paths({**full_variants()[0], "task_queue": "none"}, "svc", "svc")
    celery = pruned_paths({**full_variants()[0], "task_queue": "celery"}, "svc", "svc")
    assert "src/svc/tasks.py" in none and "src/svc/tasks.py" not in celery
    assert "src/svc/queue_rq.py" in celery and "src/svc/queue_celery.py" not in celery
    assert set(none) | set(celery) <= prunable_paths("svc", "svc")
