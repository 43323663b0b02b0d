"""The generated projects' scheduled template-update jobs (issue 13 item 3), run for real.

The job's own shell script is taken from the generated workflow (GitHub) or `.gitlab-ci.yml`
(GitLab) and run with bash in a generated project whose template has a new release. What only
the hosted CI has is stood in for: `uvx --from <template> flaskgen` runs this flaskgen;
`gh` records its calls; the push URL (github.com / the GitLab host, with the token) is rewritten
by git's `url.<base>.insteadOf` to a bare repository on disk, whose pre-receive hook records the
push options (GitLab's `merge_request.create`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import GIT_IDENTITY, SLUG, commit_all, edit, git, project_from, template_repository

FAKE_UVX = f"""#!/bin/sh
# uvx --from SPEC flaskgen ARGS...  ->  this checkout's flaskgen ARGS...
shift 3
exec "{Path(sys.executable).parent / "flaskgen"}" "$@"
"""
FAKE_GH = """#!/bin/sh
echo "$@" >> "$GH_LOG"
case "$1 $2" in
  "pr list") echo 0 ;;
esac
"""


def _job_script(project: Path, ci: str) -> str:
    if ci == "github":
        workflow = yaml.safe_load((project / ".github/workflows/template-update.yml").read_text())
        assert workflow[True]["schedule"] and "workflow_dispatch" in workflow[True]  # YAML reads `on:` as True
        (step,) = [step for step in workflow["jobs"]["update"]["steps"] if "run" in step]
        return str(step["run"])
    job = yaml.safe_load((project / ".gitlab-ci.yml").read_text())["template-update"]
    assert {"if": '$CI_PIPELINE_SOURCE == "schedule"'} in job["rules"]
    return "\n".join(job["script"])


def _environment(root: Path, ci: str, remote: Path) -> dict[str, str]:
    tools = root / "tools"
    tools.mkdir()
    for name, text in (("uvx", FAKE_UVX), ("gh", FAKE_GH)):
        (tools / name).write_text(text)
        (tools / name).chmod(0o755)
    pushed_to = "https://x-access-token:t0ken@github.com/org/svc.git"
    if ci == "gitlab":
        pushed_to = "https://oauth2:t0ken@gitlab.example.com/org/svc.git"
    config = root / "gitconfig"
    config.write_text(f'[url "{remote}"]\n\tinsteadOf = {pushed_to}\n')
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        **GIT_IDENTITY,
        "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}",
        "GIT_CONFIG_GLOBAL": str(config),
        "GH_LOG": str(root / "gh.log"),
    }
    if ci == "github":
        env.update(BRANCH="flaskgen/template-update", DEFAULT_BRANCH="main", GH_TOKEN="t0ken",
                   GITHUB_REPOSITORY="org/svc")  # fmt: skip
    else:
        env.update(BRANCH="flaskgen/template-update", CI_DEFAULT_BRANCH="main", TEMPLATE_UPDATE_TOKEN="t0ken",
                   CI_SERVER_HOST="gitlab.example.com", CI_PROJECT_PATH="org/svc")  # fmt: skip
    return env


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_scheduled_job_opens_an_update_request(tmp_path: Path, ci: str) -> None:
    changelog = "# Changelog\n\n## [1.1.0]\n### Changed\n- keepalive 4 s.\n\n## [1.0.0]\n"
    template = template_repository(tmp_path, changelog=changelog, tag="v1.0.0")
    project = project_from(template, tmp_path / "work", "Svc", ci=ci)
    remote = tmp_path / "svc.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    git(remote, "config", "receive.advertisePushOptions", "true")
    hook = remote / "hooks/pre-receive"
    hook.write_text(f'#!/bin/sh\nenv | grep ^GIT_PUSH_OPTION_ | sort >> "{tmp_path / "push-options.log"}"\n')
    hook.chmod(0o755)
    git(project, "push", "--quiet", str(remote), "main")
    main_before = git(remote, "rev-parse", "main")
    script = _job_script(project, ci)
    env = _environment(tmp_path, ci, remote)

    def run_job() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-c", script], cwd=project, env=env, capture_output=True, text=True, timeout=300)

    current = run_job()
    assert current.returncode == 0, current.stdout + current.stderr
    assert "up to date" in current.stdout and not git(remote, "branch", "--list", "flaskgen/*")

    edit(template / SLUG / "deploy/gunicorn.conf.py", "keepalive = 5", "keepalive = 4")
    commit_all(template, "1.1.0")
    git(template, "tag", "v1.1.0")
    behind = run_job()
    assert behind.returncode == 0, behind.stdout + behind.stderr
    assert git(remote, "rev-parse", "main") == main_before  # the default branch is never written
    update = tmp_path / "update-branch"
    git(tmp_path, "clone", "--quiet", "--branch", "flaskgen/template-update", str(remote), str(update))
    assert "keepalive = 4" in (update / "deploy/gunicorn.conf.py").read_text()
    record: dict[str, Any] = json.loads((update / ".cruft.json").read_text())
    assert record["commit"] == git(template, "rev-parse", "v1.1.0")
    assert git(update, "log", "-1", "--format=%s").startswith("behind: template")
    assert not (update / "check.txt").exists() and not (update / "update.txt").exists()
    if ci == "github":
        calls = (tmp_path / "gh.log").read_text()
        assert "pr create --base main --head flaskgen/template-update" in calls
    else:
        options = (tmp_path / "push-options.log").read_text()
        assert "=merge_request.create" in options and "=merge_request.target=main" in options
