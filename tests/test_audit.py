"""`flaskgen audit`: a corpus of small bad projects triggers each code; good counterparts none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flaskgen.audit import audit
from flaskgen.audit.rules import RULES
from flaskgen.cli import app
from flaskgen.generate import generate_project
from tests.helpers import write_tree

runner = CliRunner()

VIEW_HEADER = "from flask import Blueprint\nbp = Blueprint('x', __name__)\n"
NGINX_GOOD = """
server {
    listen 80;
    server_name api.example.com;
    client_header_timeout 10s;
    client_body_timeout 10s;
    client_max_body_size 10m;
    location / { proxy_pass http://unix:/run/app.sock; }
}
"""

BAD: dict[str, dict[str, str]] = {
    "FG101": {"gunicorn.conf.py": 'bind = "0.0.0.0:8000"\n'},
    "FG101-procfile": {"Procfile": "web: gunicorn app.wsgi:app --bind :8000\n"},
    "FG101-docker": {"Dockerfile": 'FROM python:3.12\nCMD ["gunicorn", "-b", "0.0.0.0:8000", "app.wsgi:app"]\n'},
    "FG101-systemd": {"app.service": "[Service]\nExecStart=/srv/.venv/bin/gunicorn --bind=[::]:80 app.wsgi:app\n"},
    "FG102": {"Procfile": "web: gunicorn --workers 64 -b unix:/run/a.sock app.wsgi:app\n"},
    "FG102-config": {"gunicorn.conf.py": 'bind = "unix:/run/a.sock"\nworkers = 33\n'},
    "FG102-env": {"compose.yaml": "services:\n  web:\n    environment:\n      WEB_CONCURRENCY: 40\n"},
    "FG103": {"gunicorn.conf.py": 'bind = "unix:/run/a.sock"\nworker_class = "sync"\ntimeout = 0\n'},
    "FG201": {"nginx/site.conf": NGINX_GOOD.replace("proxy_pass", "proxy_buffering off; proxy_pass")},
    "FG201-request": {"nginx/site.conf": NGINX_GOOD.replace("proxy_pass", "proxy_request_buffering off; proxy_pass")},
    "FG202": {"nginx/site.conf": NGINX_GOOD.replace("client_header_timeout 10s;", "")},
    "FG202-long": {"nginx/site.conf": NGINX_GOOD.replace("client_body_timeout 10s;", "client_body_timeout 2m;")},
    "FG202-default-server": {"nginx/site.conf": NGINX_GOOD + "server { listen 80 default_server; server_name _; return 444; }\n"},
    "FG203": {"nginx/site.conf": NGINX_GOOD.replace("client_max_body_size 10m;", "")},
    "FG301": {"views.py": VIEW_HEADER + "HITS = {}\n@bp.get('/')\ndef index():\n    HITS['n'] = HITS.get('n', 0) + 1\n    return ''\n"},
    "FG301-append": {"views.py": VIEW_HEADER + "SEEN = []\n@bp.post('/')\ndef add():\n    SEEN.append(1)\n    return ''\n"},
    "FG301-global": {"views.py": VIEW_HEADER + "count = 0\n@bp.before_request\ndef hook():\n    global count\n    count += 1\n"},
    "FG301-instance": {
        "views.py": VIEW_HEADER + "class Stats:\n    n = 0\nSTATS = Stats()\n@bp.route('/')\ndef index():\n    STATS.n += 1\n    return ''\n"
    },
    "FG401": {"views.py": "import requests\n" + VIEW_HEADER + "@bp.get('/')\ndef index():\n    return requests.get('http://x').text\n"},
    "FG401-sleep": {"views.py": "from time import sleep\n" + VIEW_HEADER + "@bp.get('/')\ndef index():\n    sleep(5)\n    return ''\n"},
    "FG401-subprocess": {
        "views.py": "import subprocess\n" + VIEW_HEADER + "@bp.get('/')\ndef index():\n    return subprocess.run(['ls']).stdout\n"
    },
    "FG401-smtp": {"views.py": "import smtplib\n" + VIEW_HEADER + "@bp.post('/')\ndef mail():\n    smtplib.SMTP('mx')\n    return ''\n"},
    "FG501": {"app/log.py": "import logging\nlogging.getLogger().addHandler(logging.FileHandler('app.log'))\n"},
    "FG501-basic": {"app/log.py": "import logging\nlogging.basicConfig(level='INFO')\n"},
    "FG501-dict": {"app/log.py": "CONFIG = {'handlers': {'f': {'class': 'logging.handlers.RotatingFileHandler'}}}\n"},
    "FG601": {"app/config.py": "class Config:\n    SECRET_KEY = 'dev-secret-please-change'\n"},
    "FG601-config": {"app/__init__.py": "def create_app(app):\n    app.config['SECRET_KEY'] = 'hunter2'\n"},
    "FG602": {"app/config.py": "class ProductionConfig:\n    DEBUG = True\n"},
    "FG602-run": {"app/main.py": "from flask import Flask\ndef make():\n    app = Flask(__name__)\n    app.run(debug=True)\n"},
    "FG603": {"app/__init__.py": "from flask import Flask\napp = Flask(__name__)\n"},
    "FG701": {"views.py": VIEW_HEADER + "from flask import current_app\n@bp.get('/')\ndef index():\n    with current_app.app_context():\n        return ''\n"},
    "FG701-nested": {"app/cli.py": "def job(app):\n    with app.app_context():\n        with app.app_context():\n            pass\n"},
}  # fmt: skip

GOOD: dict[str, dict[str, str]] = {
    "unix-socket-bind": {"gunicorn.conf.py": 'bind = "unix:/run/app.sock"\nworkers = 5\ntimeout = 30\n'},
    "public-bind-behind-proxy": {
        "Dockerfile": 'CMD ["gunicorn", "-b", "0.0.0.0:8000", "app.wsgi:app"]\n',
        "compose.yaml": "services:\n  proxy:\n    image: nginx:1.27\n",
    },
    "loopback-bind": {"Procfile": "web: gunicorn -b 127.0.0.1:8000 -w 5 app.wsgi:app\n"},
    "computed-workers": {"gunicorn.conf.py": "import os\nworkers = int(os.environ.get('WEB_CONCURRENCY', 2 * os.cpu_count() + 1))\n"},
    "nginx-good": {"nginx/site.conf": NGINX_GOOD},
    "nginx-default-server-with-timeout": {
        "nginx/site.conf": NGINX_GOOD + "server { listen 80 default_server; client_header_timeout 10s; return 444; }\n"
    },
    "nginx-buffering-off-for-gevent": {
        "nginx/site.conf": NGINX_GOOD.replace("proxy_pass", "proxy_buffering off; proxy_pass"),
        "gunicorn.conf.py": 'bind = "unix:/run/a.sock"\nworker_class = "gevent"\n',
    },
    "nginx-static-only": {"nginx/static.conf": "server { listen 80; root /srv/www; }\n"},
    "constants-and-immutables": {
        "views.py": VIEW_HEADER
        + "import logging\nimport re\nfrom dataclasses import dataclass\nfrom types import MappingProxyType\n"
        + "LIMIT = 10\nNAMES = ('a', 'b')\nALLOWED = frozenset({'x'})\nPATTERN = re.compile('x')\n"
        + "STATUS = MappingProxyType({'a': 1})\nlog = logging.getLogger(__name__)\n"
        + "@dataclass(frozen=True)\nclass Point:\n    x: int\nORIGIN = Point(0)\n"
        + "@bp.get('/')\ndef index():\n    log.info('x %s', STATUS.get('a'))\n    local = {}\n    local['k'] = LIMIT\n"
        + "    if PATTERN.match('x') and 'x' in ALLOWED:\n        return str(ORIGIN.x + len(NAMES))\n    return ''\n"
    },
    "mutable-global-only-read": {"views.py": VIEW_HEADER + "DEFAULTS = {'a': 1}\n@bp.get('/')\ndef index():\n    return DEFAULTS['a']\n"},
    "mutation-outside-requests": {"setup.py": "REGISTRY = []\ndef register(x):\n    REGISTRY.append(x)\n"},
    "blocking-io-in-worker": {"tasks.py": "import requests\ndef job():\n    return requests.get('http://x')\n"},
    "queue-logging": {
        "log.py": "import logging\nfrom logging.handlers import QueueHandler, QueueListener\nsink = logging.StreamHandler()\n"
        "logging.getLogger().addHandler(QueueHandler(q))\n"
    },
    "secret-from-env": {"config.py": "import os\nclass Config:\n    SECRET_KEY = os.environ.get('SECRET_KEY')\n"},
    "debug-in-dev-config": {"config.py": "class DevelopmentConfig:\n    DEBUG = True\nclass ProductionConfig:\n    DEBUG = False\n"},
    "run-under-main-guard": {"run.py": "from app import create_app\nif __name__ == '__main__':\n    create_app().run(debug=True)\n"},
    "factory": {"app/__init__.py": "from flask import Flask\ndef create_app():\n    app = Flask(__name__)\n    return app\n"},
    "context-in-worker": {"worker.py": "def main(app):\n    with app.app_context():\n        pass\n"},
    "tests-are-exempt": {"tests/test_x.py": "from flask import Flask\napp = Flask(__name__)\napp.config['SECRET_KEY'] = 'x'\n"},
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_project_triggers_its_code(tmp_path: Path, case: str) -> None:
    findings = audit(write_tree(tmp_path, BAD[case]))
    code = case.split("-")[0]
    assert [f.code for f in findings] == [code], findings
    assert findings[0].line >= 1 and findings[0].fix


def test_every_rule_has_a_bad_case() -> None:
    assert {case.split("-")[0] for case in BAD} == {rule.code for rule in RULES}


@pytest.mark.parametrize("case", sorted(GOOD))
def test_good_project_has_no_findings(tmp_path: Path, case: str) -> None:
    assert audit(write_tree(tmp_path, GOOD[case])) == []


@pytest.mark.parametrize("overrides", [{}, {"database": "postgresql", "task_queue": "celery", "tls": "certbot"},
                                       {"database": "none", "task_queue": "rq", "worker_class": "gevent"}])  # fmt: skip
def test_generated_projects_audit_clean(tmp_path: Path, overrides: dict[str, str]) -> None:
    project = generate_project(name="Clean", no_input=True, overrides=overrides, output_dir=tmp_path).project_dir
    result = runner.invoke(app, ["audit", str(project)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "no findings"


def test_cli_text_exit_codes_and_filters(tmp_path: Path) -> None:
    write_tree(tmp_path, {**BAD["FG603"], **BAD["FG601"]})
    result = runner.invoke(app, ["audit", str(tmp_path)])
    assert result.exit_code == 1
    assert "app/__init__.py:2: FG603 Flask(...) is created at import time" in result.output
    assert "    fix: build the app in create_app()" in result.output
    assert runner.invoke(app, ["audit", str(tmp_path), "--ignore", "FG6"]).exit_code == 0
    only = runner.invoke(app, ["audit", str(tmp_path), "--select", "FG601"])
    assert "FG601" in only.output and "FG603" not in only.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["/no/such/dir"], "does not exist"),
        ([".", "--select", "FG999"], "matches no rule"),
        ([".", "--format", "xml"], "--format"),
    ],
)
def test_cli_errors_exit_2(args: list[str], fragment: str) -> None:
    result = runner.invoke(app, ["audit", *args])
    assert result.exit_code == 2 and fragment in result.output


def test_json_format(tmp_path: Path) -> None:
    write_tree(tmp_path, BAD["FG301"])
    data = json.loads(runner.invoke(app, ["audit", str(tmp_path), "--format", "json"]).output)
    (finding,) = data["findings"]
    assert finding == {
        "code": "FG301",
        "name": "global-state-mutated",
        "path": "views.py",
        "line": 6,
        "message": finding["message"],
        "fix": "keep per-request data in flask.g, the session, the database or Redis",
    }


def test_sarif_has_what_github_code_scanning_requires(tmp_path: Path) -> None:
    write_tree(tmp_path, {**BAD["FG401"], **BAD["FG101"]})
    log = json.loads(runner.invoke(app, ["audit", str(tmp_path), "--format", "sarif"]).output)
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] and driver["version"] and driver["informationUri"]
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert rule_ids == [rule.code for rule in RULES]
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["help"]["text"]
    assert {r["ruleId"] for r in run["results"]} == {"FG101", "FG401"}
    for result in run["results"]:
        assert result["message"]["text"]
        assert result["level"] in ("none", "note", "warning", "error")
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert not Path(location["artifactLocation"]["uri"]).is_absolute()
        assert location["region"]["startLine"] >= 1
