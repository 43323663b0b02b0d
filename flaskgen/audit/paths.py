"""What a path inside a project says about its file: tests, fixtures, docs, development variants.

One vocabulary for the places that decide it (facts: which command files and manifests are
production; parsers.commands: which entrypoint branches are; modules: which modules are service code).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

# Parts of a path that hold tests, fixtures, documentation or examples, not the service.
NOT_SERVICE_DIRS = {"tests", "test", "testing", "docs", "doc", "examples", "example", "fixtures", "mocks"}
# Words in a file name that mark it as not for production (compose.dev.yaml, Dockerfile.local, ...).
NON_PRODUCTION_WORDS = {"dev", "devel", "develop", "development", "local", "test", "tests", "testing", "override",
                        "example", "examples", "sample", "samples", "debug", "ci", "devcontainer", "vagrant",
                        "sandbox", "e2e", "jenkins"}  # fmt: skip
# Libraries only tests import: a module importing one is test code wherever it sits (not `unittest`
# or `mock`: service code may use a Mock as a stand-in; a unittest.TestCase subclass is a test).
TEST_ONLY_LIBRARIES = {"pytest", "requests_mock", "responses", "httpretty", "pytest_mock", "vcr"}
TEST_LIBRARIES = TEST_ONLY_LIBRARIES | {"unittest", "mock"}


def words(name: str) -> set[str]:
    """`compose.dev.yaml` -> {"compose", "dev", "yaml"}: the lower-case words of a name."""
    return set(re.split(r"[^a-z0-9]+", name.lower())) - {""}


def is_test_path(relative: PurePosixPath) -> bool:
    """Tests and their fixtures: a tests/ folder, test_*.py, *_test.py, conftest.py (inside the project)."""
    name = relative.name
    return (
        bool({"tests", "test", "testing"} & set(relative.parts[:-1]))
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


def is_test_decorator(name: str) -> bool:
    """`@requests_mock.Mocker()`, `@responses.activate`, `@mock.patch(...)`, `@patch.object(...)`:
    a function that runs under a test double."""
    root = name.split(".")[0].removesuffix("()")
    return root in TEST_LIBRARIES or root == "patch"
