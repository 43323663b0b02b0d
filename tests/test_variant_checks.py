"""The matrix's own detectors catch what they are for (so a clean matrix means something)."""

from __future__ import annotations

from pathlib import Path

from tests.variants import (
    OPTIONS,
    debug_outside_development,
    empty_files,
    full_variants,
    leftover_jinja,
    mutable_module_state,
    pairwise_variants,
    secrets_found,
    variant_id,
    yaml_problems,
)


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


def test_detectors_find_the_problems(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "a.py": "STATE = {}\nITEMS: list[int] = list()\nOK = (1, 2)\nclass C:\n    CACHE = []\n",
            "config.py": "class DevelopmentConfig:\n    DEBUG = True\nclass ProductionConfig:\n    DEBUG = True\n",
            "settings.py": 'SECRET_KEY = "hunter2hunter2"\n',
            ".env.example": "DATABASE_URL=postgresql://app:s3cret@db/app\nOK_URL=postgresql://app:CHANGE_ME@db/app\n",
            "README.md": "Hello {{ cookiecutter.project_name }}\n",
            "ci.yml": "a: [unclosed\n",
            "empty.txt": "",
        },
    )
    assert mutable_module_state(root) == ["a.py:1", "a.py:2", "a.py:5"]
    assert debug_outside_development(root) == ["config.py:4"]
    assert {hit.split(":")[0] for hit in secrets_found(root)} == {"settings.py", ".env.example"}
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
