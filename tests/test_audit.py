"""`flaskgen audit`: a corpus of small bad projects triggers each code; good counterparts none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flaskgen.audit import audit, run_audit
from flaskgen.audit.rules import BY_CODE, RULES
from flaskgen.cli import app
from flaskgen.generate import generate_project
from tests.helpers import GIT_IDENTITY, REPO, commit_all, git, write_tree

runner = CliRunner()

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

SYNC = {"gunicorn.conf.py": 'bind = "unix:/run/app.sock"\n'}
VIEW = "from flask import Blueprint\nbp = Blueprint('x', __name__)\n"
MAIL_APP = "from flask_mail import Mail\nmail = Mail()\n"
RESOURCES = (
    "import time\nfrom flask_restx import Resource\nclass Base(Resource):\n    pass\n"
    "class Slow(Base):\n    def get(self):\n        time.sleep(2)\n        return {}\n"
)


def deployment(containers: str, pod: str = "", name: str = "web") -> str:
    """A Deployment (labels app=<name>) whose pod spec has `pod` lines and the given container list."""
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  selector:\n"
        f"    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n"
        f"    spec:\n{pod}      containers:\n{containers}"
    )


GUNICORN_CONTAINER = """\
        - name: app
          image: ghcr.io/acme/web:1.0
          command: ["gunicorn", "-b", "0.0.0.0:8000", "web.wsgi:app"]
          ports: [{name: app, containerPort: 8000}]
"""
NGINX_CONTAINER = """\
        - name: nginx
          image: nginx:1.27
          ports: [{name: http, containerPort: 8080}]
"""
SERVICE = (
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {{app: web}}\n"
    "  ports:\n    - port: 80\n      targetPort: {target}\n"
)
# Reached from outside the cluster (a ClusterIP Service only other pods call has no slow clients).
LOAD_BALANCER = SERVICE.replace("spec:\n", "spec:\n  type: LoadBalancer\n")
INGRESS = (
    "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\n  annotations:\n{annotations}"
    "spec:\n  ingressClassName: nginx\n  rules:\n    - http:\n        paths:\n          - path: /\n"
    "            pathType: Prefix\n            backend: {{service: {{name: web, port: {{number: 80}}}}}}\n"
)
# A well-made kustomize base (flaskgen's own shape): Nginx and Gunicorn in one pod on a shared unix
# socket, the Service on Nginx, /readyz readiness and /healthz liveness, a preStop drain inside the
# grace period, WEB_CONCURRENCY from the CPU limit, the secret key from a Secret.
KUBERNETES_BASE = {
    "deploy/gunicorn.conf.py": "import os\nbind = 'unix:/run/app/gunicorn.sock'\n"
    "workers = int(os.environ.get('WEB_CONCURRENCY', 2 * (os.cpu_count() or 1) + 1))\ngraceful_timeout = 30\n",
    "deploy/kubernetes/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
    "resources: [deployment.yaml, service.yaml, ingress.yaml]\nconfigMapGenerator:\n  - name: web-env\n"
    "    literals: [FLASK_ENV=production, LOG_FORMAT=json, SECRET_KEY_FILE=/run/secrets/key]\n",
    "deploy/kubernetes/deployment.yaml": deployment(
        NGINX_CONTAINER + "          lifecycle:\n            preStop:\n              exec:\n"
        "                command: [sh, -c, 'sleep 5 && nginx -s quit']\n"
        "        - name: app\n          image: ghcr.io/acme/web:1.0\n"
        "          command: [gunicorn, -c, deploy/gunicorn.conf.py, web.wsgi:app]\n"
        "          env:\n            - name: WEB_CONCURRENCY\n              valueFrom:\n"
        "                resourceFieldRef: {resource: limits.cpu, divisor: '1'}\n"
        "            - name: FLASK_SECRET_KEY\n              valueFrom:\n"
        "                secretKeyRef: {name: web, key: secret-key}\n"
        "            - name: FLASK_DEBUG\n              value: '0'\n"
        "          resources:\n            requests: {cpu: 500m, memory: 256Mi}\n            limits: {cpu: '1', memory: 512Mi}\n"
        "          readinessProbe:\n            httpGet: {path: /readyz, port: http}\n"
        "          livenessProbe:\n            httpGet: {path: /healthz, port: http}\n"
        "          lifecycle:\n            preStop:\n              exec: {command: [sleep, '5']}\n",
        pod="      terminationGracePeriodSeconds: 45\n      volumes: [{name: run, emptyDir: {}}]\n",
    ),
    "deploy/kubernetes/service.yaml": SERVICE.format(target="http"),
    "deploy/kubernetes/ingress.yaml": INGRESS.format(
        annotations="    nginx.ingress.kubernetes.io/proxy-body-size: 10m\n"
    ),
    "web/health.py": VIEW + "from web.db import db\n@bp.get('/healthz')\ndef healthz():\n    return 'ok'\n"
    "@bp.get('/readyz')\ndef readyz():\n    db.session.execute('SELECT 1')\n    return 'ok'\n",
}


BAD: dict[str, dict[str, str]] = {
    "FG101": {"gunicorn.conf.py": 'bind = "0.0.0.0:8000"\n'},
    "FG101-procfile": {"Procfile": "web: gunicorn app.wsgi:app --bind :8000\n"},
    "FG101-systemd": {"app.service": "[Service]\nExecStart=/srv/.venv/bin/gunicorn --bind=[::]:80 app.wsgi:app\n"},
    "FG101-fstring-once": {"gunicorn.conf.py": "import os\nbind = f\"0.0.0.0:{os.getenv('APP_PORT', '8000')}\"\n"},
    "FG101-open-past-the-proxy": {
        "deploy/app.service": "[Service]\nExecStart=/srv/.venv/bin/gunicorn -b 0.0.0.0:8000 app.wsgi:app\n",
        "deploy/nginx/site.conf": NGINX_GOOD.replace("http://unix:/run/app.sock", "http://127.0.0.1:8000"),
    },
    "FG101-supervisor": {"deploy/supervisor/app.conf": "[program:app]\ncommand=/srv/venv/bin/gunicorn -b 0.0.0.0:80 app:app\n"},
    "FG102": {"Procfile": "web: gunicorn --workers 64 -b unix:/run/a.sock app.wsgi:app\n"},
    "FG102-config": {"gunicorn.conf.py": 'bind = "unix:/run/a.sock"\nworkers = 33\n'},
    "FG102-env": {"compose.yaml": "services:\n  web:\n    environment:\n      WEB_CONCURRENCY: 40\n"},
    # A shell default is a fixed count wherever the deployment does not set the variable.
    "FG102-env-shell-default": {"Dockerfile": "FROM python:3.12\nENV WEB_CONCURRENCY=${WEB_CONCURRENCY:-40}\n"},
    "FG102-assigned-default": {
        "entrypoint.sh": '#!/bin/sh\n: "${GUNICORN_WORKERS:=32}"\nexec gunicorn --workers "$GUNICORN_WORKERS" -b unix:/run/a.sock app:app\n'
    },
    "FG102-attached": {"Procfile": "web: gunicorn -w${WEB_CONCURRENCY:-32} -b unix:/run/a.sock app.wsgi:app\n"},
    "FG102-compose-shell": {
        "compose.yaml": "services:\n  web:\n    command: sh -c 'gunicorn -w $${WORKERS:-32} -b unix:/run/a.sock app:app'\n"
    },
    "FG103": {"gunicorn.conf.py": 'bind = "unix:/run/a.sock"\nworker_class = "sync"\ntimeout = 0\n'},
    "FG201": {"nginx/site.conf": NGINX_GOOD.replace("proxy_pass", "proxy_buffering off; proxy_pass"), **SYNC},
    "FG201-request": {"nginx/site.conf": NGINX_GOOD.replace("proxy_pass", "proxy_request_buffering off; proxy_pass"), **SYNC},
    "FG201-multiline-entrypoint": {
        "nginx/site.conf": NGINX_GOOD.replace("proxy_pass", "proxy_buffering off; proxy_pass"),
        "entrypoint.sh": "#!/bin/sh\nexec gunicorn app.wsgi:app \\\n    --bind unix:/run/app.sock \\\n    --worker-class gthread\n",
    },
    "FG202": {"nginx/site.conf": NGINX_GOOD.replace("client_body_timeout 10s;", "client_body_timeout 5m;")},
    "FG202-both-once": {"nginx/site.conf": NGINX_GOOD.replace("10s;", "300s;")},
    "FG203": {"nginx/site.conf": NGINX_GOOD.replace("client_max_body_size 10m;", "client_max_body_size 0;")},
    "FG301": {"views.py": VIEW + "HITS = {}\n@bp.get('/')\ndef index():\n    HITS['n'] = HITS.get('n', 0) + 1\n    return ''\n"},
    "FG301-append": {"views.py": VIEW + "SEEN = []\n@bp.post('/')\ndef add():\n    SEEN.append(1)\n    return ''\n"},
    "FG301-global": {"views.py": VIEW + "count = 0\n@bp.before_request\ndef hook():\n    global count\n    count += 1\n"},
    "FG301-instance": {
        "views.py": VIEW + "class Stats:\n    n = 0\nSTATS = Stats()\n@bp.route('/')\ndef index():\n    STATS.n += 1\n    return ''\n"
    },
    "FG301-imported-from-another-module": {
        "app/defaults.py": "FILTERS = {'lang': 'en'}\n",
        "app/views.py": VIEW + "from flask import request\nfrom app.defaults import FILTERS\n@bp.get('/')\ndef index():\n"
        "    FILTERS.update(lang=request.args['lang'])\n    FILTERS['page'] = request.args['page']\n    return ''\n",
    },
    "FG301-helper-module": {
        "app/stats.py": "SEEN = []\ndef add_request():\n    SEEN.append(1)\n    del SEEN[0]\n",
        "app/views.py": VIEW + "from . import stats\n@bp.before_app_request\ndef hook():\n    stats.add_request()\n",
    },
    "FG401": {
        "views.py": "from time import sleep\n" + VIEW + "@bp.get('/<job>')\ndef wait(job):\n    while not done(job):\n"
        "        sleep(1)\n    return ''\ndef done(job):\n    return True\n"
    },
    "FG403": {"views.py": "from time import sleep\n" + VIEW + "@bp.get('/')\ndef index():\n    sleep(5)\n    return ''\n"},
    "FG403-subprocess": {
        "views.py": "import subprocess\n" + VIEW + "@bp.get('/')\ndef index():\n    return subprocess.run(['ls']).stdout\n"
    },
    "FG401-smtp": {"views.py": "import smtplib\n" + VIEW + "@bp.post('/')\ndef mail():\n    smtplib.SMTP('mx', timeout=5)\n    return ''\n"},
    "FG401-helper-two-levels": {
        "app/email.py": "import smtplib\ndef deliver(to):\n    smtplib.SMTP('mx', timeout=5).sendmail('a', to, 'x')\n",
        "app/users.py": "from app.email import deliver\ndef welcome(user):\n    deliver(user)\n",
        "app/views.py": VIEW + "from .users import welcome\n@bp.post('/users')\ndef register():\n    welcome('u')\n    return ''\n",
    },
    "FG401-flask-mail": {
        "app/__init__.py": MAIL_APP,
        "app/views.py": VIEW + "from flask_mail import Message\nfrom app import mail\n@bp.post('/')\ndef contact():\n"
        "    mail.send(Message('hi'))\n    return ''\n",
    },
    "FG403-restx-resource-subclass": {"app/base.py": RESOURCES},
    "FG402": {"views.py": "import requests\n" + VIEW + "@bp.get('/')\ndef index():\n    return requests.get('http://x').text\n"},
    "FG402-worker": {"tasks.py": "import requests\ndef sync_accounts():\n    return requests.post('http://x', json={})\n"},
    "FG402-session": {"client.py": "import requests\ndef fetch(url):\n    s = requests.Session()\n    return s.get(url)\n"},
    "FG402-urlopen": {"client.py": "from urllib.request import urlopen\ndef fetch(url):\n    return urlopen(url).read()\n"},
    "FG502": {"app/log.py": "import logging\nlogging.getLogger().addHandler(logging.FileHandler('app.log'))\n"},
    "FG502-basic": {"app/log.py": "import logging\nlogging.basicConfig(filename='app.log', level='INFO')\n"},
    "FG502-dict": {"app/log.py": "CONFIG = {'handlers': {'f': {'class': 'logging.handlers.RotatingFileHandler'}}}\n"},
    "FG501-smtp": {
        "app/__init__.py": "from logging.handlers import SMTPHandler\ndef create_app(app):\n"
        "    handler = SMTPHandler('mx', 'a@b', ['c@d'], 'error')\n    app.logger.addHandler(handler)\n"
    },
    "FG601": {"app/config.py": "class Config:\n    SECRET_KEY = 'dev-secret-please-change'\n"},
    "FG601-config": {"app/__init__.py": "def create_app(app):\n    app.config['SECRET_KEY'] = 'hunter2'\n"},
    "FG601-fallback": {"app/config.py": "import os\nclass Config:\n    SECRET_KEY = os.environ.get('SECRET_KEY', 'dev')\n"},
    "FG601-or": {"app/config.py": "import os\nclass Config:\n    SECRET_KEY = os.getenv('APP_KEY') or 'hard to guess'\n"},
    "FG601-dockerfile": {"Dockerfile": "FROM python:3.12\nENV SECRET_KEY=s3cr3t-value\n"},
    "FG601-compose": {"compose.yaml": "services:\n  web:\n    environment:\n      SECRET_KEY: s3cr3t-value\n"},
    "FG602": {"app/config.py": "class ProductionConfig:\n    DEBUG = True\n"},
    "FG602-dockerfile": {"Dockerfile": "FROM python:3.12\nENV FLASK_DEBUG=1\n"},
    "FG602-compose": {"compose.yaml": "services:\n  web:\n    environment:\n      - FLASK_DEBUG=true\n"},
    "FG602-systemd": {"deploy/app.service": "[Service]\nEnvironment=FLASK_DEBUG=1\nExecStart=/srv/venv/bin/gunicorn -b unix:/run/a.sock app:app\n"},
    "FG603": {"app/__init__.py": "from flask import Flask\napp = Flask(__name__)\n", "app/views.py": "from app import app\n",
              "app/models.py": ""},
    "FG604-systemd": {"deploy/app.service": "[Service]\nExecStart=/srv/venv/bin/flask --app app run --port 8000\n"},
    "FG604": {"Dockerfile": 'FROM python:3.12\nCMD ["flask", "--app", "app", "run", "--host=0.0.0.0"]\n'},
    "FG604-compose": {"compose.yaml": "services:\n  web:\n    command: flask run --host 0.0.0.0\n"},
    "FG604-procfile": {"Procfile": "web: python manage.py runserver\n"},
    "FG604-started-script": {
        "Dockerfile": "FROM python:3.12\nCMD python serve.py\n",
        "serve.py": "from app import create_app\nif __name__ == '__main__':\n    create_app().run(host='0.0.0.0')\n",
    },
    "FG604-at-import": {
        "app/main.py": "from app.factory import create_app\napp = create_app()\napp.run()\n",
        "wsgi.py": "from app.main import app\n",
    },
    "FG701": {"views.py": VIEW + "from flask import current_app\n@bp.get('/')\ndef index():\n    with current_app.app_context():\n        return ''\n"},
    "FG701-nested": {"app/cli.py": "def job(app):\n    with app.app_context():\n        with app.app_context():\n            pass\n"},
    "FG701-in-a-helper-the-view-calls": {
        "views.py": VIEW + "from flask import current_app\ndef settings():\n    with current_app.app_context():\n"
        "        return current_app.config['X']\n@bp.get('/')\ndef index():\n    return settings()\n"
    },
    # Issue 33, general shapes (each failed before its rule change).
    "FG604-start-script-of-the-image": {"start.sh": "#!/bin/sh\nexec flask run -h 0.0.0.0\n", "Dockerfile": "FROM python:3.12\nCMD ./start.sh\n"},
    "FG602-debug-in-a-production-branch": {"app/config.py": "import os\nif os.environ.get('APP_ENV') == 'production':\n    DEBUG = True\n"},
    "FG501-under-not-debug": {
        "app/__init__.py": "from logging.handlers import SMTPHandler\ndef create_app(app):\n    if not app.debug:\n"
        "        app.logger.addHandler(SMTPHandler('mx', 'a@b', ['c@d'], 'error'))\n"
    },
    "FG402-imported-client-with-a-main-guard": {
        "app/client.py": "import requests\ndef fetch():\n    return requests.get('http://x')\nif __name__ == '__main__':\n    fetch()\n",
        "app/views.py": VIEW + "from app.client import fetch\n",
    },
    "FG301-once-per-name": {
        "views.py": VIEW + "from flask import session\nHITS = {}\n@bp.get('/a')\ndef a():\n    HITS[session['id']] = 1\n"
        "    return ''\n@bp.get('/b/<name>')\ndef b(name):\n    HITS.pop(name)\n    return ''\ndef count(key):\n"
        "    HITS[key] = HITS.get(key, 0) + 1\n@bp.get('/c')\ndef c():\n    count('c')\n    return ''\n"
    },
    "FG301-per-user-data-through-a-module-level-object": {
        "app/state.py": "class Store:\n    def __init__(self):\n        self.carts = {}\n    def put(self, user, item):\n"
        "        self.carts[user] = item\nstore = Store()\n",
        "app/views.py": VIEW + "from flask import request\nfrom app.state import store\n@bp.post('/cart')\ndef add():\n"
        "    store.put(request.remote_addr, request.json)\n    return ''\n",
    },
    "FG402-client-package-the-app-imports": {
        "web/__init__.py": "from flask import Flask\nfrom client.api import fetch\ndef create_app():\n    return Flask(__name__)\n",
        "client/__init__.py": "", "client/api.py": "import requests\ndef fetch(url):\n    return requests.get(url)\n",
    },
    "FG402-session-from-a-helper": {
        "app/http.py": "import requests\ndef get_session():\n    s = requests.Session()\n    s.headers['X'] = 'y'\n    return s\n",
        "app/client.py": "from app.http import get_session\ndef fetch(url):\n    s = get_session()\n    return s.get(url)\n",
    },
    "FG402-session-set-by-a-base-class": {
        "app/base.py": "import requests\nclass Base:\n    def __init__(self):\n        self.session = requests.Session()\n",
        "app/github.py": "from app.base import Base\nclass GitHub(Base):\n    def user(self, name):\n"
        "        return self.session.get('https://api.github.com/users/' + name)\n",
    },
    "FG402-session-on-an-attribute": {
        "client.py": "import requests\nclass Api:\n    def __init__(self):\n        self.session = requests.Session()\n"
        "    def push(self, data):\n        return self.session.post('http://x', json=data)\n"
    },
    "FG402-session-in-a-class-body": {
        "client.py": "import requests\nclass Api:\n    http = requests.Session()\n    def pull(self):\n        return self.http.get('http://x')\n"
    },
    "FG401-mail-through-current-app": {
        "app/__init__.py": MAIL_APP,
        "app/views.py": VIEW + "from flask import current_app\n@bp.post('/')\ndef contact():\n    current_app.mail.send('m')\n    return ''\n",
    },
    "FG401-mail-through-extensions": {
        "app/__init__.py": MAIL_APP,
        "app/views.py": VIEW + "from flask import current_app\n@bp.post('/')\ndef contact():\n"
        "    mail = current_app.extensions['mail']\n    mail.send('m')\n    return ''\n",
    },
    "FG601-dockerfile-env-continuation": {"Dockerfile": "FROM python:3.12\nENV APP_NAME=x \\\n    SECRET_KEY=s3cr3t-value \\\n    PORT=8000\n"},
    "FG602-dockerfile-env-legacy-debug": {"Dockerfile": "FROM python:3.12\nENV DEBUG True\n"},
    "FG602-dockerfile-selects-a-development-config": {"Dockerfile": "FROM python:3.12\nENV PORT=80 APP_SETTINGS=project.config.DevelopmentConfig\n"},
    "FG601-stack-file": {
        "deploy/stack.yml": "version: '3.8'\nservices:\n  web:\n    image: acme/web\n    environment:\n      SECRET_KEY: s3cr3t-value\n"
    },
    "FG604-started-script-through-main": {
        "Dockerfile": 'FROM python:3.12\nCMD ["python", "run.py"]\n',
        "run.py": "from app import create_app, socketio\ndef main():\n    app = create_app()\n"
        "    socketio.run(app, host='0.0.0.0', allow_unsafe_werkzeug=True)\nif __name__ == '__main__':\n    main()\n",
    },
    "FG604-python-m-through-a-wrapper": {
        "Dockerfile": "FROM python:3.12\nCMD python -m app.serve\n",
        "app/serve.py": "from app.server import main\nmain()\n",
        "app/server.py": "from app import app, socketio\ndef main():\n    socketio.run(app, port=5000)\n",
    },
    "FG101-published-next-to-the-proxy": {
        "compose.yaml": "services:\n  nginx:\n    image: nginx:1.27\n    ports: ['80:80']\n  web:\n    build: .\n"
        "    command: gunicorn -b 0.0.0.0:5000 app:app\n    ports:\n      - '5000:5000'\n"
    },
    "FG203-inherited-from-the-main-config": {
        "nginx/nginx.conf": "events {}\nhttp {\n    client_max_body_size 0;\n    include /etc/nginx/conf.d/*.conf;\n}\n",
        "nginx/conf.d/app.conf": NGINX_GOOD.replace("    client_max_body_size 10m;\n", ""),
    },
    # Kubernetes (FG8xx), read from manifests and kustomizations.
    "FG801": {
        "k8s/deployment.yaml": deployment(GUNICORN_CONTAINER.replace('"-b"', '"-w", "8", "-b"')
                                          + "          resources: {limits: {cpu: '1'}}\n")
    },
    "FG801-workers-from-the-node-cpu-count": {
        "gunicorn.conf.py": "import multiprocessing\nbind = '0.0.0.0:8000'\ncores = multiprocessing.cpu_count()\nworkers = cores * 2 + 1\n",
        "k8s/deployment.yaml": deployment(GUNICORN_CONTAINER + "          resources: {limits: {cpu: 500m}}\n"),
    },
    "FG801-web-concurrency-literal": {
        "k8s/deployment.yaml": deployment(GUNICORN_CONTAINER + "          env: [{name: WEB_CONCURRENCY, value: '9'}]\n"
                                          "          resources: {limits: {cpu: '2'}}\n")
    },
    "FG801-limit-in-an-overlay-patch": {
        "k8s/base/deployment.yaml": deployment(GUNICORN_CONTAINER.replace('"-b"', '"-w", "5", "-b"')),
        "k8s/overlays/prod/patch.yaml": deployment("        - name: app\n          resources: {limits: {cpu: '1'}}\n"),
    },
    "FG802": {
        "k8s/deployment.yaml": deployment(GUNICORN_CONTAINER + "          livenessProbe: {httpGet: {path: /readyz, port: 8000}}\n")
    },
    "FG802-view-queries-the-database": {
        "app/views.py": VIEW + "from app.db import db\n@bp.route('/health')\ndef health():\n    return check()\n"
        "def check():\n    db.session.execute('SELECT 1')\n    return 'ok'\n",
        "k8s/deployment.yaml": deployment(GUNICORN_CONTAINER + "          livenessProbe: {httpGet: {path: /health, port: 8000}}\n"),
    },
    "FG803": {
        "k8s/deployment.yaml": deployment(
            GUNICORN_CONTAINER + "          lifecycle: {preStop: {exec: {command: [sleep, '10']}}}\n",
            pod="      terminationGracePeriodSeconds: 30\n",
        )
    },
    "FG803-graceful-timeout-from-the-config": {
        "gunicorn.conf.py": "bind = '0.0.0.0:8000'\ngraceful_timeout = 60\n",
        "k8s/deployment.yaml": deployment(GUNICORN_CONTAINER),
    },
    "FG804": {"k8s/deployment.yaml": deployment(GUNICORN_CONTAINER), "k8s/service.yaml": LOAD_BALANCER.format(target=8000)},
    "FG804-ingress-nginx-buffering-off": {
        "k8s/deployment.yaml": deployment(NGINX_CONTAINER + GUNICORN_CONTAINER),
        "k8s/ingress.yaml": INGRESS.format(annotations='    nginx.ingress.kubernetes.io/proxy-request-buffering: "off"\n'),
    },
    "FG804-ingress-nginx-any-body-size": {
        "k8s/deployment.yaml": deployment(NGINX_CONTAINER + GUNICORN_CONTAINER),
        "k8s/ingress.yaml": INGRESS.format(annotations='    nginx.ingress.kubernetes.io/proxy-body-size: "0"\n'),
    },
    "FG805": {
        "k8s/deployment.yaml": deployment(GUNICORN_CONTAINER + "          env: [{name: SECRET_KEY, value: s3cr3t-value}]\n")
    },
    "FG805-configmap": {
        "k8s/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: env}\ndata:\n"
        "  LOG_LEVEL: info\n  DATABASE_URL: postgresql://app:hunter2@db/app\n"
    },
    "FG805-kustomize-generator": {
        "k8s/kustomization.yaml": "configMapGenerator:\n  - name: env\n    literals:\n      - PORT=8000\n      - API_TOKEN=abc123\n"
    },
    "FG805-committed-secret": {
        "k8s/secrets.yml": "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData:\n  POSTGRES_USER: app\n  POSTGRES_PASSWORD: admin\n"
    },
    "FG805-committed-secret-base64": {
        "k8s/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: web}\ndata:\n  DB_HOST: ZGI=\n  SECRET_KEY: ZDQxZDhjZDk4ZjAw\n"
    },
    "FG805-helm-values": {
        "chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "chart/values.yaml": "image: {tag: '1.0'}\nauth:\n  secretKey: 9f8e7d6c5b4a\n  existingSecret: ''\n",
        "chart/templates/configmap.yaml": "data:\n  SECRET_KEY: {{ .Values.auth.secretKey | quote }}\n",
    },
    "FG805-helm-values-env-map": {
        "chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "chart/values.yaml": "env:\n  LOG_LEVEL: info\n  postgresPassword: admin\n",
        "chart/templates/deployment.yaml": "env:\n{{- range $k, $v := .Values.env }}\n  - {name: {{ $k }}, value: {{ $v | quote }}}\n{{- end }}\n",
    },
    "FG602-kubernetes-env": {
        "k8s/deployment.yaml": deployment(GUNICORN_CONTAINER + "          env: [{name: FLASK_DEBUG, value: 'true'}]\n")
    },
    "FG402-task-module-with-a-main-guard": {
        "app/tasks.py": "import requests\nfrom app.worker import celery\n@celery.task\ndef pull():\n    requests.get('http://x')\n"
        "if __name__ == '__main__':\n    pull()\n"
    },
    "FG804-the-project-image-without-a-command": {
        "Dockerfile": 'FROM python:3.12\nCMD ["gunicorn", "-b", "0.0.0.0:8000", "web.wsgi:app"]\n',
        "k8s/deployment.yaml": deployment("        - name: web\n          image: acme/web:1\n          ports: [{containerPort: 8000}]\n"),
        "k8s/service.yaml": LOAD_BALANCER.format(target=8000),
    },
    "FG301-module-dict-through-a-method": {
        "app/state.py": "CARTS = {}\nclass Carts:\n    def put(self, user, item):\n        CARTS[user] = item\ncarts = Carts()\n",
        "app/views.py": VIEW + "from flask import request\nfrom app.state import carts\n@bp.post('/cart')\ndef add():\n"
        "    carts.put(request.remote_addr, request.json)\n    return ''\n",
    },
    # Issue 33: the service's code is what its roots (views, the app, tasks) import or name.
    "FG402-task-module-named-in-a-string": {
        "app/__init__.py": "from celery import Celery\nfrom flask import Flask\ncelery = Celery(include=['app.jobs'])\n"
        "def create_app():\n    return Flask(__name__)\n",
        "app/jobs.py": "import requests\ndef sync():\n    return requests.get('http://x')\n",
    },
    "FG402-a-worker-call-under-a-request-timeout": {
        "app/__init__.py": "import eventlet\nfrom flask import Flask\nclass Timeout:\n    def __init__(self, app):\n"
        "        self.app = app\n    def __call__(self, environ, start_response):\n        with eventlet.Timeout(30):\n"
        "            return self.app(environ, start_response)\ndef create_app():\n    app = Flask(__name__)\n"
        "    app.wsgi_app = Timeout(app.wsgi_app)\n    return app\n",
        "app/client.py": "import requests\ndef fetch():\n    return requests.get('http://x')\n",
        "app/tasks.py": "from celery import shared_task\nfrom app.client import fetch\n@shared_task\ndef sync():\n    fetch()\n",
    },
    "FG401-helper-imported-from-beside-it": {
        "middleware/api/app.py": "from flask import Flask\nfrom send_email import send_contact\napp = Flask(__name__)\n"
        "@app.post('/contact')\ndef contact():\n    send_contact()\n    return ''\n",
        "middleware/api/send_email.py": "import smtplib\ndef send_contact():\n    smtplib.SMTP('mx', timeout=5).quit()\n",
    },
    "FG402-session-from-a-helper-that-takes-one": {
        "app/http.py": "import requests\ndef get_session(session=None):\n    session = session or requests.Session()\n"
        "    session.headers['X'] = 'y'\n    return session\n",
        "app/client.py": "from app.http import get_session\ndef fetch(url):\n    with get_session() as s:\n        return s.get(url)\n",
    },
    "FG402-kwargs-from-a-helper-with-no-timeout": {
        "app/hooks.py": "def check_url():\n    return {'hooks': {'response': print}}\n",
        "app/client.py": "import requests\nfrom app.hooks import check_url\ndef fetch(url):\n"
        "    return requests.get(url, **check_url())\n",
    },
    "FG402-views-under-bin": {
        "bin/app.py": "import requests\nfrom flask import Blueprint\nbp = Blueprint('x', __name__)\n@bp.get('/x')\ndef proxy():\n"
        "    return requests.request('GET', 'http://x').text\n",
    },
    # Issue 33, fresh-6 shapes: what the audit missed.
    "FG601-fallback-through-a-project-helper": {
        "app/config.py": "from app.secrets import get_secret\njwt_secret = get_secret('JWT_SECRET_KEY', 'super-secret')\n"
        "SECRET_KEY = jwt_secret\n",
        "app/secrets.py": "import os\ndef get_secret(name, default):\n    return os.environ.get(name, default)\n",
    },
    "FG601-command-line-option-default": {
        "app/main.py": "import click\n@click.command()\n@click.option('--secret-key', envvar='SECRET_KEY', default='development')\n"
        "def main(secret_key):\n    pass\n"
    },
    "FG401-mail-through-an-email-api": {
        "app/mail.py": "from sendgrid import SendGridAPIClient\nclass Mailer:\n    def __init__(self, message):\n"
        "        self.message = message\n        self.api = SendGridAPIClient(api_key='k')\n    def send(self):\n"
        "        self.api.client.mail.send.post(request_body=self.message)\n",
        "app/views.py": VIEW + "from app.mail import Mailer\n@bp.post('/reset')\ndef reset():\n    mailer = Mailer('hi')\n"
        "    mailer.send()\n    return ''\n",
    },
    "FG401-mail-through-a-package-re-export": {
        "app/mail/__init__.py": "from .smtp import Mailer\n",
        "app/mail/smtp.py": "import smtplib\nclass Mailer:\n    def send(self, to):\n        smtplib.SMTP('mx', timeout=5).quit()\n",
        "app/views.py": VIEW + "from app.mail import Mailer\n@bp.post('/invite')\ndef invite():\n    mailer = Mailer()\n"
        "    mailer.send('a@b')\n    return ''\n",
    },
    "FG402-timeout-parameter-defaulting-to-none": {
        "app/client.py": "import requests\ndef query(url, timeout=None):\n    return requests.get(url, timeout=timeout)\n"
    },
    "FG402-session-subclass-lifting-the-timeout": {
        "app/http.py": "import requests\nclass Publisher(requests.Session):\n    def request(self, method, url, **kwargs):\n"
        "        kwargs.pop('timeout', None)\n        return super().request(method, url, timeout=None, **kwargs)\n"
    },
    # Issue 33, fresh-7 shapes: what the audit missed.
    "FG402-session-handed-to-a-client": {
        "app/marketo.py": "from requests import Session\nclass Marketo:\n    def __init__(self, session: Session):\n"
        "        self.session = session\n    def submit(self, data):\n        return self.session.post('https://x', json=data)\n",
    },
    "FG402-urllib3-pool": {
        "app/tiles.py": "import urllib3\nhttp = urllib3.PoolManager()\ndef sync():\n    return http.request('GET', 'https://cdn/x')\n"
    },
    "FG401-mail-from-an-apispec-resource": {
        "app/views.py": "from flask_apispec import MethodResource\nfrom flask_mail import Mail, Message\nmail = Mail()\n"
        "class Register(MethodResource):\n    def post(self):\n        mail.send(Message('hi'))\n        return {}\n",
    },
    # Issue 33, fresh-2 shapes: what the audit missed (each failed before its rule change).
    "FG403-file-in-newer-python-syntax": {
        "views.py": "import time\n" + VIEW + "NAMES = {'k': 'v'}\ntitle = f\"{NAMES[\"k\"]}\"\n"
        "@bp.get('/')\ndef index():\n    time.sleep(5)\n    return title\n"
    },
    "FG403-file-with-a-byte-order-mark": {
        "views.py": "\ufeffimport time\n" + VIEW + "@bp.get('/')\ndef index():\n    time.sleep(5)\n    return ''\n"
    },
    "FG401-smtp-four-calls-deep-through-a-provider-class": {
        "app/providers.py": "import smtplib\nclass Provider:\n    @staticmethod\n    def sendmail(to, text):\n"
        "        raise NotImplementedError\nclass SMTPProvider(Provider):\n    @staticmethod\n    def sendmail(to, text):\n"
        "        return connect().sendmail('a', to, text)\ndef connect():\n    return smtplib.SMTP('mx', timeout=5)\n",
        "app/email.py": "from app.providers import SMTPProvider\nPROVIDERS = {'smtp': SMTPProvider}\n"
        "def sendmail(to, text):\n    provider = PROVIDERS.get('smtp')\n    return provider.sendmail(to, text)\n"
        "def confirm(to):\n    return sendmail(to, 'confirm')\n",
        "app/views.py": VIEW + "from app import email\n@bp.post('/register')\ndef register():\n    email.confirm('u')\n    return ''\n",
    },
    "FG804-command-in-the-dockerfile-port-in-the-manifest": {
        "src/frontend/Dockerfile": "FROM python:3.12 AS base\nFROM base\n"
        "CMD gunicorn -b :$PORT --threads 4 \"frontend:create_app()\"\n",
        "k8s/frontend.yaml": LOAD_BALANCER.format(target=8080) + "---\n" + deployment(
            "        - name: front\n          image: registry.example.com/bank/frontend:v1\n"
            "          env: [{name: PORT, value: '8080'}]\n"
        ),
    },
    "FG805-db-pass": {"k8s/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: db}\ndata:\n  DB_USER: app\n  DB_PASS: test\n"},
    "FG301-per-user-record-with-a-time-stamp": {
        "views.py": VIEW + "import time\nfrom flask import request\nATTEMPTS = {}\n@bp.post('/login')\ndef login():\n"
        "    now = time.time()\n    last = ATTEMPTS.get(request.remote_addr, (0, 0))\n    if now - last[0] < 60:\n"
        "        return '', 429\n    ATTEMPTS[request.remote_addr] = (now, last[1] + 1)\n    return ''\n"
    },
    # Issue 33: FG301 counts a write of request or user data, a per-user key, or a counter/accumulator.
    "FG301-view-argument-stored-through-a-helper": {
        "app/store.py": "LAST = {}\ndef remember(slug, who):\n    name = slug.lower()\n    LAST[name] = who\n",
        "app/views.py": VIEW + "from flask import g\nfrom app.store import remember\n@bp.get('/p/<slug>')\n"
        "def page(slug):\n    remember(slug, g.user)\n    return ''\n",
    },
    "FG301-dict-of-tokens": {
        "views.py": VIEW + "import secrets\nTOKENS = {}\n@bp.post('/t')\ndef issue():\n    token = secrets.token_hex()\n"
        "    TOKENS[token] = secrets.randbelow(9)\n    return token\n"
    },
    "FG301-rate-limit-counter-through-a-helper": {
        "views.py": VIEW + "from flask import request\nCALLS = {}\ndef count(ip):\n    CALLS.setdefault(ip, 0)\n"
        "@bp.get('/')\ndef index():\n    count(request.headers.get('X-Real-IP'))\n    return ''\n"
    },
    "FG301-current-user-appended": {
        "views.py": VIEW + "from flask_login import current_user\nONLINE = set()\n@bp.get('/')\ndef index():\n"
        "    ONLINE.add(current_user.id)\n    return ''\n"
    },
    "FG301-global-set-from-the-form": {
        "views.py": VIEW + "from flask import request\ntheme = None\n@bp.post('/theme')\ndef set_theme():\n"
        "    global theme\n    data = request.form\n    theme = data['theme']\n    return ''\n"
    },
    "FG602-in-the-stage-the-image-builds-on": {
        "Dockerfile": "FROM python:3.12 AS base\nENV FLASK_DEBUG=1\nFROM base AS dev\nCMD flask run\n"
        "FROM base AS final\nCMD gunicorn -b 0.0.0.0:8000 app:app\n"
    },
    "FG604-production-branch-of-an-entrypoint": {
        "entrypoint.sh": "#!/bin/sh\nif [ \"$FLASK_ENV\" = \"development\" ]; then\n    exec gunicorn --reload app:app\n"
        "else\n    exec flask run -h 0.0.0.0\nfi\n"
    },
}  # fmt: skip

GOOD: dict[str, dict[str, str]] = {
    "unix-socket-bind": {"gunicorn.conf.py": 'bind = "unix:/run/app.sock"\nworkers = 5\ntimeout = 30\n'},
    "public-bind-behind-proxy": {
        "Dockerfile": 'CMD ["gunicorn", "-b", "0.0.0.0:8000", "app.wsgi:app"]\n',
        "compose.yaml": "services:\n  proxy:\n    image: nginx:1.27\n",
    },
    "container-bind": {"Dockerfile": 'FROM python:3.12\nCMD ["gunicorn", "-b", "0.0.0.0:8000", "app.wsgi:app"]\n'},
    "container-config-bind": {
        "Dockerfile": "FROM python:3.12\nCMD gunicorn -c config/gunicorn.py app:app\n",
        "config/gunicorn.py": "import os\nbind = f\"0.0.0.0:{os.getenv('PORT', '8000')}\"\n",
    },
    "paas-procfile": {"Procfile": "web: gunicorn autoapp:app -b 0.0.0.0:$PORT -w 3\n"},
    "loopback-bind": {"Procfile": "web: gunicorn -b 127.0.0.1:8000 -w 5 app.wsgi:app\n"},
    "pip-install-gunicorn": {"Dockerfile": "FROM python:3.12\nRUN pip install gunicorn gevent\n", "nginx/s.conf": NGINX_GOOD.replace("proxy_pass", "proxy_buffering off; proxy_pass")},
    "computed-workers": {"gunicorn.conf.py": "import os\nworkers = int(os.environ.get('WEB_CONCURRENCY', 2 * os.cpu_count() + 1))\n"},
    "workers-shell-default-within-the-bound": {"Procfile": "web: gunicorn -w${WEB_CONCURRENCY:-4} -b unix:/run/a.sock app:app\n"},
    # The container's shell reads $$WORKERS from the service's environment, which sets it.
    "workers-shell-default-set-by-the-service": {
        "compose.yaml": "services:\n  web:\n    command: sh -c 'gunicorn -w $${WORKERS:-32} -b unix:/run/a.sock app:app'\n"
        "    environment:\n      WORKERS: 4\n"
    },
    "nginx-good": {"nginx/site.conf": NGINX_GOOD},
    "nginx-defaults": {"nginx/site.conf": "server { listen 80; location / { proxy_pass http://unix:/run/app.sock; } }\n"},
    "nginx-large-upload-limit": {"nginx/site.conf": NGINX_GOOD.replace("client_max_body_size 10m;", "client_max_body_size 4G;")},
    "nginx-60s-is-the-default": {"nginx/site.conf": NGINX_GOOD.replace("10s;", "60s;")},
    "nginx-buffering-off-for-gevent": {
        "nginx/site.conf": NGINX_GOOD.replace("proxy_pass", "proxy_buffering off; proxy_pass"),
        "gunicorn.conf.py": 'bind = "unix:/run/a.sock"\nworker_class = "gevent"\n',
    },
    "nginx-buffering-off-gevent-from-entrypoint-default": {
        "nginx/site.conf": NGINX_GOOD.replace("proxy_pass", "proxy_buffering off; proxy_pass"),
        "docker-entrypoint.sh": '#!/bin/bash\nWORKER_CLASS=${WORKER_CLASS:-gevent}\nexec gunicorn "app:create_app()" \\\n'
        "    --bind 'unix:/run/app.sock' \\\n    --worker-class \"$WORKER_CLASS\"\n",
    },
    "nginx-buffering-off-unknown-worker-class": {
        "nginx/site.conf": NGINX_GOOD.replace("proxy_pass", "proxy_buffering off; proxy_pass"),
        "Procfile": "web: gunicorn -k $WORKER_CLASS -b unix:/run/a.sock app:app\n",
    },
    "nginx-buffering-off-on-a-stream": {
        "nginx/site.conf": NGINX_GOOD.replace("location /", "location /events/ { proxy_buffering off; proxy_pass http://unix:/run/app.sock; }\n    location /"),
        **SYNC,
    },
    "nginx-static-only": {"nginx/static.conf": "server { listen 80; root /srv/www; }\n"},
    "constants-and-immutables": {
        "views.py": VIEW
        + "import logging\nimport re\nfrom dataclasses import dataclass\nfrom types import MappingProxyType\n"
        + "LIMIT = 10\nNAMES = ('a', 'b')\nALLOWED = frozenset({'x'})\nPATTERN = re.compile('x')\n"
        + "STATUS = MappingProxyType({'a': 1})\nlog = logging.getLogger(__name__)\n"
        + "@dataclass(frozen=True)\nclass Point:\n    x: int\nORIGIN = Point(0)\n"
        + "@bp.get('/')\ndef index():\n    log.info('x %s', STATUS.get('a'))\n    local = {}\n    local['k'] = LIMIT\n"
        + "    if PATTERN.match('x') and 'x' in ALLOWED:\n        return str(ORIGIN.x + len(NAMES))\n    return ''\n"
    },
    "mutable-global-only-read": {"views.py": VIEW + "DEFAULTS = {'a': 1}\n@bp.get('/')\ndef index():\n    return DEFAULTS['a']\n"},
    "mutation-outside-requests": {"setup.py": "REGISTRY = []\ndef register(x):\n    REGISTRY.append(x)\n"},
    "http-with-timeout-in-oauth-callback": {
        "auth.py": "import requests\n" + VIEW + "@bp.get('/callback')\ndef callback():\n"
        "    token = requests.post('https://idp/token', data={}, timeout=5).json()\n"
        "    return requests.get('https://idp/user', headers={'a': token}, timeout=(3.05, 10)).text\n"
    },
    "http-with-timeout-in-worker": {"tasks.py": "import requests\ndef job():\n    return requests.get('http://x', timeout=10)\n"},
    "http-in-a-script": {"scripts/release.py": "import requests\nrequests.post('https://api/releases')\n"},
    "popen-returns-at-once": {"views.py": "import subprocess\n" + VIEW + "@bp.post('/import')\ndef start():\n    subprocess.Popen(['flask', 'import'])\n    return '', 202\n"},
    "helper-offloads-to-a-thread": {
        "app/email.py": "from threading import Thread\nfrom app import mail\ndef send(msg, sync=False):\n"
        "    if sync:\n        mail.send(msg)\n    else:\n        Thread(target=mail.send, args=(msg,)).start()\n",
        "app/__init__.py": MAIL_APP,
        "app/views.py": VIEW + "from app.email import send\n@bp.post('/')\ndef contact():\n    send('m')\n    return ''\n",
    },
    "sleep-in-a-thread-target": {
        "views.py": "import time, threading\n" + VIEW + "@bp.before_app_request\ndef start():\n    def loop():\n"
        "        while True:\n            time.sleep(5)\n    threading.Thread(target=loop).start()\n"
    },
    "queue-logging": {
        "log.py": "import logging\nfrom logging.handlers import QueueHandler, QueueListener\nsink = logging.FileHandler('a.log')\n"
        "logging.getLogger().addHandler(QueueHandler(q))\n"
    },
    "stream-handler-to-stderr": {"app/log.py": "import logging, sys\nlogging.getLogger().addHandler(logging.StreamHandler(sys.stderr))\nlogging.basicConfig(level='INFO')\n"},
    "file-handler-in-cli-and-worker": {
        "app/cli.py": "import logging\nlogging.getLogger().addHandler(logging.FileHandler('cli.log'))\n",
        "app/worker.py": "import logging\nlogging.basicConfig(filename='worker.log')\n",
    },
    "testing-config": {
        "app/config.py": "import logging\nclass TestingConfig:\n    SECRET_KEY = 'test'\n    DEBUG = True\n"
        "    LOGGING = {'handlers': {'f': {'class': 'logging.FileHandler'}}}\n",
        "app/settings/development.py": "SECRET_KEY = 'dev'\nDEBUG = True\n",
    },
    "secret-from-env": {"config.py": "import os\nclass Config:\n    SECRET_KEY = os.environ.get('SECRET_KEY')\n"},
    "secret-from-env-in-settings": {
        "Dockerfile": "FROM python:3.12\nARG FLASK_DEBUG=false\nENV FLASK_DEBUG=${FLASK_DEBUG} SECRET_KEY=${SECRET_KEY}\n",
        "compose.yaml": "services:\n  web:\n    environment:\n      - SECRET_KEY=${SECRET_KEY}\n      - FLASK_DEBUG=${FLASK_DEBUG:-false}\n",
    },
    "debug-in-dev-config": {"config.py": "class DevelopmentConfig:\n    DEBUG = True\nclass ProductionConfig:\n    DEBUG = False\n"},
    "run-under-main-guard": {"run.py": "from app import create_app\nif __name__ == '__main__':\n    create_app().run(debug=True)\n"},
    "dev-script-not-deployed": {"serve.py": "from app import create_app\napp = create_app()\napp.run(debug=True)\n"},
    "dev-compose-files": {
        "compose.yaml": "services:\n  web:\n    command: python manage.py run -h 0.0.0.0\n    environment:\n      - FLASK_DEBUG=1\n",
        "compose.prod.yaml": "services:\n  web:\n    command: gunicorn -b 0.0.0.0:5000 manage:app\n",
        "compose.dev.yaml": "services:\n  web:\n    command: flask run\n",
        "Dockerfile.dev": "FROM python:3.12\nCMD flask run\n",
    },
    "compose-mounting-the-source-is-development": {
        "compose.yaml": "services:\n  web:\n    command: flask run -h 0.0.0.0\n    volumes:\n      - .:/app\n"
        "    environment:\n      FLASK_DEBUG: 1\n",
    },
    "scripts-and-examples": {
        "scripts/seed.py": "import requests\nfrom flask import Flask\napp = Flask(__name__)\nrequests.get('http://x')\n",
        "app/email_client_example.py": "from flask import Flask\napp = Flask(__name__)\n",
        "app/devtest.py": "from flask import Flask\napp = Flask(__name__)\n",
        "app/cli.py": "import requests\ndef sync():\n    requests.get('http://x')\n",
    },
    "schema-data-named-secret_key": {"app/schema.py": "SCHEMA = {'examples': [{'secret_key': 'bar'}]}\n"},
    "dev-branch-of-an-entrypoint": {
        "bin/docker-entrypoint": "#!/bin/bash\ncase \"$1\" in\n  server)\n    exec gunicorn -b 0.0.0.0:5000 app:app\n    ;;\n"
        "  dev_server)\n    export FLASK_DEBUG=1\n    exec flask run -h 0.0.0.0\n    ;;\nesac\n",
        "Dockerfile": 'FROM python:3.12\nENTRYPOINT ["/app/bin/docker-entrypoint"]\n',
    },
    "ci-settings": {".github/workflows/ci.yml": "env:\n  FLASK_DEBUG: 1\n  SECRET_KEY: test\n", ".travis.yml": "script: flask run\n"},
    "factory": {"app/__init__.py": "from flask import Flask\ndef create_app():\n    app = Flask(__name__)\n    return app\n"},
    "context-in-worker": {"worker.py": "def main(app):\n    with app.app_context():\n        pass\n"},
    # Background work: a CLI command's, a thread's target, run in place only by a view that else
    # hands it to a thread.
    "context-in-a-helper-of-a-command-and-a-thread": {
        "views.py": VIEW + "import threading\nfrom flask import current_app\ndef refresh(app):\n"
        "    with app.app_context():\n        pass\n@bp.cli.command('refresh')\ndef refresh_command():\n"
        "    refresh(current_app)\n@bp.post('/refresh')\ndef start():\n    app = current_app._get_current_object()\n"
        "    if app.config['THREADS']:\n        threading.Thread(target=refresh, args=(app,)).start()\n"
        "    else:\n        refresh(app)\n    return ''\n"
    },
    "context-pushed-only-when-none-is-active": {
        "views.py": VIEW + "from flask import current_app, has_request_context, url_for\ndef link(endpoint):\n"
        "    if not has_request_context():\n        with current_app.test_request_context():\n"
        "            return url_for(endpoint)\n    return url_for(endpoint)\n@bp.get('/')\ndef index():\n    return link('x.index')\n"
    },
    "tests-are-exempt": {"tests/test_x.py": "from flask import Flask\napp = Flask(__name__)\napp.config['SECRET_KEY'] = 'x'\n"},
    "docs-and-examples-are-exempt": {
        "docs/conf.py": "import logging\nlogging.basicConfig(filename='x.log')\n",
        "examples/hello.py": "from flask import Flask\napp = Flask(__name__)\n",
        "tests/fixtures/nginx/site.conf": NGINX_GOOD.replace("10s;", "300s;"),
    },
    # Issue 33, general shapes (each reported before its rule change).
    "dev-folder-entrypoint": {
        "docker/dev/entrypoint.sh": "#!/bin/sh\nexport FLASK_DEBUG=1\nexec flask run --debug -h 0.0.0.0\n",
        "compose.dev.yaml": "services:\n  web:\n    entrypoint: docker/dev/entrypoint.sh\n",
        "Dockerfile": 'FROM python:3.12\nCMD ["gunicorn", "-b", "0.0.0.0:8000", "app.wsgi:app"]\n',
    },
    "start-script-only-a-dev-compose-file-runs": {
        "start.sh": "#!/bin/sh\nexec flask --debug run -h 0.0.0.0\n",
        "docker-compose.dev.yml": "services:\n  web:\n    command: ./start.sh\n",
        "Dockerfile": 'FROM python:3.12\nCMD ["gunicorn", "-b", "0.0.0.0:8000", "app.wsgi:app"]\n',
    },
    "guarded-debug-switch": {
        "app/__init__.py": "def create_app(app, settings_debug=False):\n    if settings_debug or app.debug:\n"
        "        app.debug = True\n    return app\n"
    },
    "cli-client-outside-scripts": {
        "sync_users.py": "import click\nimport requests\n@click.command()\ndef main():\n    requests.get('http://x')\n"
        "if __name__ == '__main__':\n    main()\n",
        "tool/report.py": "import requests\ndef fetch():\n    return requests.post('http://x')\nif __name__ == '__main__':\n    fetch()\n",
        "app/commands.py": "import click, requests\n@click.command('pull')\ndef pull():\n    requests.get('http://x')\n",
        "app/__init__.py": "from app import commands\n",
    },
    "thread-registry-and-lazy-setup": {
        "views.py": VIEW + "import threading\nWORKERS = {}\n_client = None\ndef _start(name):\n"
        "    t = threading.Thread(target=print)\n    WORKERS[name] = t\n    t.start()\n"
        "def client():\n    global _client\n    if _client is None:\n        _client = object()\n    return _client\n"
        "@bp.before_app_request\ndef ensure():\n    if 'poller' not in WORKERS:\n        _start('poller')\n    client()\n"
        "@bp.get('/stop')\ndef stop():\n    WORKERS.pop('poller', None)\n    return ''\n"
    },
    "dockerfile-env-production-values": {
        "Dockerfile": "FROM python:3.12\nENV DEBUG=False \\\n    APP_SETTINGS=project.config.ProductionConfig \\\n    SECRET_KEY_FILE=/run/secrets/key\n"
    },
    "session-with-timeouts-on-attributes": {
        "client.py": "import requests\nclass Api:\n    http = requests.Session()\n    def __init__(self):\n        self.session = requests.Session()\n"
        "    def push(self):\n        self.http.get('http://x', timeout=5)\n        return self.session.post('http://x', timeout=(3, 10))\n"
    },
    "published-on-loopback-next-to-the-proxy": {
        "compose.yaml": "services:\n  nginx:\n    image: nginx:1.27\n    ports: ['80:80']\n  web:\n    build: .\n"
        "    command: gunicorn -b 0.0.0.0:5000 app:app\n    ports:\n      - 127.0.0.1:5000:5000\n    expose: ['5000']\n"
    },
    "main-config-limit-overridden-by-the-site": {
        "nginx/nginx.conf": "events {}\nhttp {\n    client_max_body_size 0;\n    include /etc/nginx/conf.d/*.conf;\n}\n",
        "nginx/conf.d/app.conf": NGINX_GOOD,
    },
    "kubernetes-base": KUBERNETES_BASE,
    "kubernetes-ingress-nginx-buffers-for-the-service": {
        "k8s/deployment.yaml": deployment(GUNICORN_CONTAINER),
        "k8s/service.yaml": SERVICE.format(target=8000),
        "k8s/ingress.yaml": INGRESS.format(annotations="    nginx.ingress.kubernetes.io/proxy-body-size: 10m\n"),
    },
    "kubernetes-gevent-service-direct": {
        "k8s/deployment.yaml": deployment(GUNICORN_CONTAINER.replace('"-b"', '"-k", "gevent", "-b"')),
        "k8s/service.yaml": SERVICE.format(target=8000),
    },
    "kubernetes-dev-overlay": {
        "k8s/overlays/dev/deployment.yaml": deployment(GUNICORN_CONTAINER + "          env: [{name: SECRET_KEY, value: dev}]\n"),
    },
    "kubernetes-secret-placeholders-and-dev-secret": {
        "k8s/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: web}\nstringData:\n  SECRET_KEY: ${SECRET_KEY}\n"
        "  POSTGRES_PASSWORD: <change-me>\n  API_TOKEN: ''\ndata:\n  REDIS_PASSWORD: ${REDIS_PASSWORD_B64}\n",
        "k8s/overlays/dev/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: web}\nstringData:\n  SECRET_KEY: dev\n",
    },
    "kubernetes-sealed-secret": {
        "k8s/sealed.yaml": "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: web}\nspec:\n"
        "  encryptedData:\n    SECRET_KEY: AgBy3i4OJSWK+PiTySYZZA9rO43cGDEq\n",
    },
    "helm-values-secret-no-template-uses": {
        "chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "chart/values.yaml": "image: {tag: '1.0'}\nsecretKey: 9f8e7d6c5b4a\n",
        "chart/templates/deployment.yaml": "image: {{ .Values.image.tag }}\n",
    },
    "helm-values-existing-secret": {
        "chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "chart/values.yaml": "environment: dev\nauth:\n  existingSecret: web-db\n  existingSecretPasswordKey: password\n"
        "  secretName: web\n  secretname: web\n  passwordKey: password\n  secret_namespace: kube-system\n",
        "chart/templates/deployment.yaml": "secretName: {{ .Values.auth.existingSecret }}\nkey: {{ .Values.auth }}\n"
        "env: {{ .Values.environment }}\n",
    },
    "helm-template-not-read": {
        "chart/templates/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n"
    },
    "kubernetes-infrastructure-and-other-services": {
        "Dockerfile": 'FROM python:3.12\nCMD ["gunicorn", "-b", "0.0.0.0:8000", "web.wsgi:app"]\n',
        "k8s/postgres.yaml": deployment("        - name: db\n          image: postgres:16\n          ports: [{containerPort: 5432}]\n"
                                        "          env: [{name: POSTGRES_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: pw}}}]\n", name="db"),
        "k8s/db-service.yaml": SERVICE.format(target=5432).replace("app: web", "app: db"),
        "k8s/frontend.yaml": deployment("        - name: ui\n          image: acme/ui:1\n"
                                        "          env: [{name: NODE_ENV, value: development}, {name: DEBUG, value: 'false'}]\n", name="ui"),
        "k8s/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: env}\ndata:\n"
        "  PASSWORD_MIN_LENGTH: '12'\n  SECURITY_PASSWORD_HASH: bcrypt\n  CSRF_TOKEN_ENABLED: 'true'\n  REDIS_URL: redis://redis:6379/0\n",
        "compose.yaml": "services:\n  wp:\n    image: wordpress\n    environment:\n      WORDPRESS_DEBUG: 1\n",
    },
    "kubernetes-workers-from-the-config-s-own-variable": {
        "gunicorn.conf.py": "import os\nbind = '0.0.0.0:8000'\nworkers = int(os.getenv('GUNICORN_WORKERS', os.cpu_count() * 2 + 1))\n",
        "k8s/deployment.yaml": deployment(GUNICORN_CONTAINER + "          env: [{name: GUNICORN_WORKERS, value: '2'}]\n"
                                          "          resources: {limits: {cpu: 500m}}\n"),
    },
    "kubernetes-grace-equal-to-graceful-timeout-without-prestop": {
        "k8s/deployment.yaml": deployment(GUNICORN_CONTAINER, pod="      terminationGracePeriodSeconds: 30\n"),
    },
    "two-module-demo": {
        "app.py": "from flask import Flask\napp = Flask(__name__)\n@app.route('/')\ndef index():\n    return 'hi'\n",
        "wsgi.py": "from app import app\n",
    },
    # Issue 33: code the service never loads, and calls a request timeout bounds.
    "script-beside-the-app": {
        "app/views.py": VIEW + "import requests\n@bp.get('/')\ndef index():\n    return requests.get('http://x', timeout=5).text\n",
        "dump_tickets.py": '"""Run from a flask shell."""\nimport os\nimport requests\nKEY = os.environ.get("KEY")\n'
        "def tickets():\n    return requests.get('http://x', auth=(KEY, '')).json()\n",
        "devtools/release.py": "import requests\ndef latest():\n    return requests.get('https://pypi.org/pypi/x/json')\n",
    },
    "calls-under-a-request-timeout": {
        "app/__init__.py": "from gevent import Timeout\nfrom flask import Flask\nclass Bounded:\n    def __init__(self, app):\n"
        "        self.app = app\n    def __call__(self, environ, start_response):\n        with Timeout(30):\n"
        "            return self.app(environ, start_response)\ndef create_app():\n    app = Flask(__name__)\n"
        "    app.wsgi_app = Bounded(app.wsgi_app)\n    return app\n",
        "app/views.py": "import requests\nfrom flask import Blueprint\nbp = Blueprint('x', __name__)\n@bp.get('/')\ndef index():\n"
        "    return requests.get('http://x').text\n",
        "app/client.py": "import requests\ndef fetch():\n    return requests.get('http://x')\n",
    },
    "debug-in-a-function-only-the-main-guard-runs": {
        "server.py": "from flask import Flask\ndef create_app():\n    return Flask(__name__)\ndef local_main():\n"
        "    app = create_app()\n    app.debug = True\n    app.run()\nif __name__ == '__main__':\n    local_main()\n",
        "wsgi.py": "from server import create_app\napp = create_app()\n",
    },
    "end-to-end-and-object-storage-compose-overlays": {
        "compose.with-e2e.yml": "services:\n  web:\n    environment:\n      SECRET_KEY: e2e-key\n",
        "compose.with-s3.yml": "services:\n  minio:\n    environment:\n      MINIO_SECRET_KEY: minio123\n",
    },
    "orm-query-beside-an-overridden-query-method": {
        "app/sensors.py": "import time\nclass Sensor:\n    def query(self):\n        raise NotImplementedError\n"
        "class Probe(Sensor):\n    def query(self):\n        time.sleep(2)\n",
        "app/views.py": VIEW + "@bp.get('/')\ndef index():\n    session = make_session()\n    return str(session.query(1))\n"
        "def make_session():\n    return None\n",
    },
    # Issue 33, fresh-6 shapes: what the audit reported wrongly.
    "a-placeholder-the-app-refuses-to-start-with": {
        "app/server.py": "import sys\nfrom flask import Flask\ndef create_app():\n    app = Flask(__name__)\n"
        "    app.config.update(SECRET_KEY='CHANGE ME')\n    app.config.from_envvar('SETTINGS')\n"
        "    if app.config['SECRET_KEY'] == 'CHANGE ME':\n        sys.exit('set SECRET_KEY')\n    return app\n",
    },
    "a-ci-build-pod": {
        "jenkins/build-pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: build}\nspec:\n  containers:\n"
        "    - name: db\n      image: postgres:16\n      env: [{name: POSTGRES_PASSWORD, value: build-only-pw}]\n",
    },
    "a-helm-value-naming-a-tls-secret": {
        "chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "chart/values.yaml": "ingress:\n  tlsSecret: web-tls\n",
        "chart/templates/ingress.yaml": "spec:\n  tls: [{secretName: {{ .Values.ingress.tlsSecret }}}]\n",
    },
    "a-cache-of-client-library-objects": {
        "app/views.py": VIEW + "from flask import request\nfrom slack import SlackClient\n_clients = {}\n@bp.post('/event')\n"
        "def event():\n    team = request.json['team']\n    if team not in _clients:\n"
        "        _clients[team] = SlackClient(token=team)\n    return ''\n",
    },
    # Issue 33, fresh-7 shapes: what the audit reported wrongly or that nobody would act on.
    "a-client-function-nothing-calls": {
        "app/views.py": VIEW + "from app.client import get_user\n@bp.get('/u')\ndef user():\n    return get_user()\n",
        "app/client.py": "import requests\ndef get_user():\n    return requests.get('http://x', timeout=5).json()\n"
        "def verify_token(token):\n    return requests.get('http://x/' + token).json()\n",
    },
    "a-template-id-and-a-blob-store-key": {
        "chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        "chart/values.yaml": "email:\n  templates:\n    passwordChange: 3f1c2a9e-8b7d-4c6e\n",
        "chart/templates/configmap.yaml": "data:\n  TEMPLATE: {{ .Values.email.templates.passwordChange }}\n",
        "compose.yaml": "services:\n  web:\n    environment:\n      BLOB_STORAGE_PUBLIC_S3_SECRET_KEY: test\n",
    },
    # Issue 33, fresh-8 shapes: what the audit reported wrongly.
    "a-mock-service-for-tests": {
        "mocks/frontend/views.py": VIEW + "from flask import request\nSEEN = {}\n@bp.post('/x')\ndef x():\n"
        "    SEEN[request.remote_addr] = request.json\n    return ''\n",
    },
    "a-pattern-for-finding-aws-keys": {"app/detect.py": "re_aws_secret_key = r'(?i)aws(.{0,20})?[0-9a-z/+]{40}'\n"},
    "debug-on-in-a-base-config-production-turns-off": {
        "app/config.py": "class Config:\n    DEBUG = True\nclass ProductionConfig(Config):\n    DEBUG = False\n"
    },
    # Issue 33, fresh-2 shapes: what the audit reported wrongly or that nobody would act on.
    "development-stage-of-a-multi-stage-dockerfile": {
        "Dockerfile": "FROM python:3.12 AS base\nRUN pip install -r requirements.txt\nFROM base AS dev\n"
        "ENV FLASK_ENV=development\nCMD [\"python\", \"app.py\"]\nFROM base AS final\nCOPY . .\n"
        "CMD [\"gunicorn\", \"app:app\", \"-b\", \"0.0.0.0:80\"]\n",
        "app.py": "from flask import Flask\napp = Flask(__name__)\nif __name__ == '__main__':\n    app.run(host='0.0.0.0')\n",
    },
    "development-branch-of-a-shell-script": {
        "entrypoint.sh": "#!/bin/sh\nif [ \"$APP_CONFIG\" = \"config.DevelopmentConfig\" ]; then\n"
        "    export FLASK_DEBUG=1\n    python manage.py runserver\nelse\n    gunicorn -b unix:/run/a.sock app:app\nfi\n"
        "[ \"$FLASK_DEBUG\" = 1 ] && exec flask run\n",
    },
    "kubernetes-services-of-other-images": {
        "compose.yaml": "services:\n  vote:\n    build: ./vote\n  result:\n    build: ./result\n",
        "vote/Dockerfile": 'FROM python:3.12\nCMD ["gunicorn", "app:app", "-b", "0.0.0.0:80"]\n',
        "result/Dockerfile": 'FROM node:20\nEXPOSE 80\nCMD ["node", "server.js"]\n',
        "k8s/result.yaml": LOAD_BALANCER.format(target=80) + "---\n" + deployment(
            "        - name: result\n          image: acme/examplevoting_result:1\n          ports: [{containerPort: 80}]\n"
        ),
        "k8s/default-backend.yaml": LOAD_BALANCER.format(target=80).replace("app: web", "app: backend") + "---\n"
        + deployment("        - name: b\n          image: gcr.io/google_containers/defaultbackend:1.0\n"
                     "          ports: [{containerPort: 80}]\n", name="backend"),
    },
    "kubernetes-clusterip-service-only-other-pods-call": {
        "k8s/deployment.yaml": deployment(GUNICORN_CONTAINER), "k8s/service.yaml": SERVICE.format(target=8000),
    },
    "kubernetes-liveness-on-a-ready-view-with-no-io": {
        "web/health.py": VIEW + "@bp.get('/ready')\ndef ready():\n    return 'ok'\n",
        "k8s/deployment.yaml": deployment(GUNICORN_CONTAINER + "          livenessProbe: {httpGet: {path: /ready, port: 8000}}\n"),
    },
    "demo-login-password-in-a-configmap": {
        "k8s/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: demo}\ndata:\n  DEMO_LOGIN_PASSWORD: bankofanthos\n"
    },
    "config-key-named-secret-key": {"app/config.py": "class ConfigKey:\n    SECRET_KEY = 'SECRET_KEY'\n    DEBUG = 'DEBUG'\n"},
    "secret-fallback-that-production-refuses": {
        "config.py": "import os\nclass Config:\n    SECRET_KEY = os.environ.get('SECRET_KEY') or 'fallback-key'\n"
        "class ProductionConfig(Config):\n    @classmethod\n    def init_app(cls, app):\n"
        "        assert os.environ.get('SECRET_KEY'), 'SECRET_KEY IS NOT SET!'\n"
    },
    "dockerfile-only-a-development-compose-builds": {
        "Dockerfile": "FROM python:3.12\nENV SECRET_KEY=placeholder-value FLASK_DEBUG=1\n",
        "docker-compose.yml": "services:\n  web:\n    build: .\n    command: python manage.py runserver\n"
        "    volumes:\n      - .:/app\n",
    },
    "urlopen-on-a-data-uri": {
        "app/qr.py": "from urllib.request import urlopen\ndef png(qr):\n    return urlopen(qr.png_data_uri(scale=3)).read()\n"
        "def inline():\n    uri = 'data:image/png;base64,AAAA'\n    return urlopen(uri).read()\n"
    },
    "sleep-under-gevent-workers": {
        "Dockerfile": 'FROM python:3.12\nCMD ["gunicorn", "-b", "0.0.0.0:80", "-k", "gevent", "app:app"]\n',
        "views.py": "import time\nfrom flask import request\n" + VIEW + "@bp.get('/delay/<int:n>')\ndef delay(n):\n"
        "    time.sleep(min(n, 10))\n    return ''\n",
    },
    "sleep-off-unless-configured": {
        "views.py": "import os, time\n" + VIEW + "@bp.post('/pay')\ndef pay():\n"
        "    delay = int(os.getenv('PAYMENT_DELAY_MS', 0))\n    time.sleep(delay / 1000)\n    return ''\n"
    },
    "two-file-service-in-a-repository-of-services": {
        "payment/payment.py": "from flask import Flask\nfrom rabbitmq import Publisher\napp = Flask(__name__)\n",
        "payment/rabbitmq.py": "class Publisher:\n    pass\n",
        "ratings/api.py": "from ratings import db\n", "ratings/db.py": "", "ratings/__init__.py": "",
    },
    "per-worker-ttl-cache-of-shared-data": {
        "views.py": VIEW + "import time\n_CACHE = {}\nTTL = 900\n@bp.get('/news')\ndef news():\n"
        "    cached = _CACHE.get('feed')\n    now = time.monotonic()\n    if cached and now - cached[0] < TTL:\n"
        "        return cached[1]\n    _CACHE['feed'] = (now, 'fetched')\n    return _CACHE['feed'][1]\n"
    },
    "http-call-in-a-function-run-under-a-test-double": {
        "app/checks.py": "import requests\nimport requests_mock\n@requests_mock.Mocker()\ndef check(m):\n"
        "    m.get('http://x', text='ok')\n    return requests.get('http://x').text\n",
        "app/smoke.py": "import requests\nfrom unittest import mock\n@mock.patch('app.smoke.token')\n"
        "def smoke(token):\n    return requests.get('http://x').text\n",
        "app/cases.py": "import unittest\nimport requests\nclass Ping(unittest.TestCase):\n"
        "    def test_ping(self):\n        requests.get('http://x')\n",
    },
    "debug-server-unit-in-a-development-folder": {
        "devel/app.service": "[Service]\nEnvironment=FLASK_DEBUG=1\nExecStart=/srv/.venv/bin/flask run --host 0.0.0.0\n",
        "vagrant/provision/web.service": "[Service]\nExecStart=/srv/.venv/bin/flask --debug run\n",
    },
    "client-library-shipped-next-to-the-service": {
        "web/__init__.py": "from flask import Flask\ndef create_app():\n    return Flask(__name__)\n",
        "client/__init__.py": "", "client/api.py": "import requests\ndef fetch(url):\n    return requests.get(url)\n",
    },
    "urlopen-under-a-process-wide-socket-timeout": {
        "app.py": "import socket\nfrom urllib.request import urlopen\nsocket.setdefaulttimeout(10)\n"
        "def fetch(url):\n    return urlopen(url).read()\n",
    },
    "bounded-retry-backoff-on-the-error-path": {
        "views.py": "import time\n" + VIEW + "from app import store\n@bp.post('/save')\ndef save():\n"
        "    for attempt in range(3):\n        try:\n            return store.put()\n        except OSError:\n"
        "            pass\n        time.sleep(0.1 * 2 ** attempt)\n    return ''\n"
        "@bp.post('/load')\ndef load():\n    try:\n        return store.get()\n    except OSError:\n"
        "        time.sleep(0.2)\n        return store.get()\n",
    },
    # Issue 33: caches and registries filled with the same values in every worker are not FG301.
    "clients-cached-by-region": {
        "app/aws.py": "import boto3\n_CLIENTS = {}\ndef client(service, region='eu-west-1'):\n"
        "    if (service, region) not in _CLIENTS:\n        _CLIENTS[(service, region)] = boto3.client(service, region)\n"
        "    return _CLIENTS[(service, region)]\n",
        "app/views.py": VIEW + "from app.aws import client\n@bp.get('/')\ndef index():\n    client('s3').list_buckets()\n"
        "    return ''\n",
    },
    "certificate-cache-keyed-by-config": {
        "views.py": VIEW + "from flask import current_app\nCERTS = {}\ndef ca(name):\n"
        "    CERTS[name] = CERTS.get(name) or open(current_app.config[name]).read()\n    return CERTS[name]\n"
        "@bp.get('/')\ndef index():\n    return ca('CA_FILE')\n"
    },
    "actions-registered-on-first-use": {
        "views.py": VIEW + "import importlib\n_actions = {}\ndef load_actions():\n"
        "    for name in ('publish', 'archive'):\n        _actions[name] = importlib.import_module(name).run\n"
        "@bp.get('/')\ndef index():\n    if not _actions:\n        load_actions()\n    return ''\n"
    },
    "route-names-from-config": {
        "views.py": VIEW + "from flask import current_app\nROUTES = {}\n@bp.before_app_request\ndef names():\n"
        "    for endpoint, rule in current_app.config['ROUTES'].items():\n        ROUTES[endpoint] = rule\n"
    },
    "engine-made-once": {
        "app/db.py": "from sqlalchemy import create_engine\n_engine = None\n_ready = False\ndef engine():\n"
        "    global _engine, _ready\n    if not _ready:\n        _ready = True\n    _engine = _engine or create_engine('sqlite://')\n"
        "    return _engine\n",
        "app/views.py": VIEW + "from app.db import engine\n@bp.get('/')\ndef index():\n    engine().connect()\n    return ''\n",
    },
    "package-file-memo": {
        "views.py": VIEW + "from importlib import resources\n_FILES = {}\n@bp.get('/schema')\ndef schema():\n"
        "    _FILES.update(schema=resources.files('app').joinpath('schema.json').read_text())\n    return _FILES['schema']\n"
    },
    "scoped-session-removed": {
        "views.py": VIEW + "from sqlalchemy.orm import scoped_session, sessionmaker\nclass Database:\n"
        "    def __init__(self):\n        self.Session = scoped_session(sessionmaker())\n    def close(self):\n"
        "        self.Session.remove()\ndb = Database()\n@bp.teardown_request\ndef cleanup(exc):\n    db.close()\n"
    },
    "renewal-loop-script": {
        "core/nginx/letsencrypt.py": "import time\nimport requests\nwhile True:\n    requests.post('http://certbot/renew')\n"
        "    time.sleep(86400)\n",
        "core/admin/app.py": "def create_app():\n    pass\n",
    },
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_project_triggers_its_code(tmp_path: Path, case: str) -> None:
    """Exactly one finding, of the case's code (one per problem, never one per line it touches);
    the default gate reports it unless the rule is opt-in."""
    findings = audit(write_tree(tmp_path, BAD[case]), select=["ALL"])
    code = case.split("-")[0]
    assert [f.code for f in findings] == [code], findings
    assert findings[0].line >= 1 and findings[0].fix
    assert [f.code for f in audit(tmp_path)] == ([] if BY_CODE[code].opt_in else [code])


def test_every_rule_has_a_bad_case() -> None:
    assert {case.split("-")[0] for case in BAD} == {rule.code for rule in RULES}


def test_a_continued_env_instruction_is_reported_on_the_variables_line(tmp_path: Path) -> None:
    findings = audit(write_tree(tmp_path, BAD["FG601-dockerfile-env-continuation"]))
    assert [(f.code, f.line) for f in findings] == [("FG601", 3)]


@pytest.mark.parametrize("case", sorted(GOOD))
def test_good_project_has_no_findings(tmp_path: Path, case: str) -> None:
    assert audit(write_tree(tmp_path, GOOD[case]), select=["ALL"]) == []


@pytest.mark.parametrize("overrides", [{}, {"database": "postgresql", "task_queue": "celery", "tls": "certbot"},
                                       {"database": "none", "task_queue": "rq", "worker_class": "gevent"},
                                       {"kubernetes": "yes", "database": "postgresql", "task_queue": "celery",
                                        "worker_class": "sync"}])  # fmt: skip
def test_generated_projects_audit_clean(tmp_path: Path, overrides: dict[str, str]) -> None:
    project = generate_project(name="Clean", no_input=True, overrides=overrides, output_dir=tmp_path).project_dir
    assert (project / "deploy/kubernetes/deployment.yaml").exists() is (overrides.get("kubernetes") == "yes")
    result = runner.invoke(app, ["audit", str(project), "--select", "ALL"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "no findings"


def test_cli_text_exit_codes_and_filters(tmp_path: Path) -> None:
    write_tree(tmp_path, {**BAD["FG402"], **BAD["FG601"]})
    result = runner.invoke(app, ["audit", str(tmp_path)])
    assert result.exit_code == 1
    assert "views.py:6: FG402 requests.get() has no timeout in request code (index())" in result.output
    assert "    fix: pass timeout=(connect, read)" in result.output
    assert runner.invoke(app, ["audit", str(tmp_path), "--ignore", "FG4,FG6"]).exit_code == 0
    only = runner.invoke(app, ["audit", str(tmp_path), "--select", "FG601"])
    assert "FG601" in only.output and "FG402" not in only.output


def test_opt_in_rules_need_select_all_or_their_code(tmp_path: Path) -> None:
    """The default gate leaves the opt-in rules out; ALL, the code or a prefix of it turns them on."""
    write_tree(tmp_path, {**BAD["FG502"], **BAD["FG501-smtp"]})
    codes = {rule.code for rule in RULES if rule.opt_in}
    assert codes == {"FG403", "FG502", "FG603"}
    assert "FG502" not in runner.invoke(app, ["audit", str(tmp_path)]).output
    for select in ("ALL", "all", "FG502", "FG5"):
        output = runner.invoke(app, ["audit", str(tmp_path), "--select", select]).output
        assert "FG502" in output and ("FG501" in output) is (select != "FG502"), (select, output)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["/no/such/dir"], "does not exist"),
        ([".", "--select", "FG999"], "matches no rule"),
        ([".", "--format", "xml"], "--format"),
        ([".", "--update-baseline"], "--update-baseline needs --baseline FILE"),
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


def test_a_project_inside_a_tests_folder_is_still_audited(tmp_path: Path) -> None:
    """The test-file exemption looks at the path inside the project, not at where it lives."""
    project = write_tree(tmp_path / "tests" / "fixtures" / "svc", {**BAD["FG601"], "pyproject.toml": ""})
    assert [f.code for f in audit(project)] == ["FG601"]
    assert [f.code for f in audit(tmp_path / "tests")] == ["FG601"]


def test_a_folder_of_projects_decides_facts_per_project(tmp_path: Path) -> None:
    """One project's Nginx does not put a proxy in front of its neighbour's Gunicorn."""
    bind = {"deploy/app.service": "[Service]\nExecStart=/srv/venv/bin/gunicorn -b 0.0.0.0:9000 app:app\n"}
    write_tree(tmp_path / "exposed", {**bind, "pyproject.toml": ""})
    proxied = NGINX_GOOD.replace("http://unix:/run/app.sock", "http://10.0.0.5:9000")
    write_tree(tmp_path / "proxied", {**bind, "nginx/site.conf": proxied, "pyproject.toml": ""})
    alone = [(f.path, f.code) for f in audit(tmp_path)]
    assert alone == [("exposed/deploy/app.service", "FG101")]
    assert alone == [(f"exposed/{f.path}", f.code) for f in audit(tmp_path / "exposed")]
    assert audit(tmp_path / "proxied") == []


def test_findings_on_one_line_come_out_in_one_order(tmp_path: Path) -> None:
    """Sorted by path, line, code and message: JSON and SARIF do not flap between runs."""
    write_tree(
        tmp_path, {"app/config.py": "import os\nclass Config:\n    SECRET_KEY = WTF_CSRF_SECRET_KEY = 'x-literal'\n"}
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-m", "flaskgen", "audit", str(tmp_path), "--format", "json"],
            capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": str(seed)},
        ).stdout
        for seed in range(4)
    }  # fmt: skip
    assert len(outputs) == 1
    messages = [f["message"] for f in json.loads(outputs.pop())["findings"]]
    assert messages == sorted(messages) and len(messages) == 2


def test_unparsable_files_are_counted_and_named(tmp_path: Path) -> None:
    write_tree(tmp_path, {**BAD["FG603"], "app/broken.py": "def f(:\n", "app/legacy.py": "print 'py2'\n"})
    (tmp_path / "app/latin1.py").write_bytes("s = 'caf\xe9'\n".encode("latin-1"))
    (tmp_path / "app/cookie.py").write_bytes("# -*- coding: latin-1 -*-\ns = 'caf\xe9'\n".encode("latin-1"))
    text = runner.invoke(app, ["audit", str(tmp_path)]).output
    assert "skipped 3 file(s), or lines of them, that do not parse: app/broken.py (not valid Python (line 1))" in text
    assert "app/latin1.py (not UTF-8)" in text and "app/legacy.py" in text and "cookie" not in text
    data = json.loads(runner.invoke(app, ["audit", str(tmp_path), "--format", "json"]).output)
    assert [s["path"] for s in data["skipped"]] == ["app/broken.py", "app/latin1.py", "app/legacy.py"]
    sarif = json.loads(runner.invoke(app, ["audit", str(tmp_path), "--format", "sarif"]).output)
    assert len(sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]) == 3


def test_newer_python_is_read_around_the_lines_this_interpreter_cannot_parse(tmp_path: Path) -> None:
    """A statement in syntax newer than the running Python (PEP 701 f-strings, PEP 695 type
    parameters before 3.12) is set aside on its own lines; the rest of the file is read, with its
    line numbers, and the report names the lines left out."""
    write_tree(tmp_path, {"app/views.py": "import time\n" + VIEW + "type Id = int\n"
                          "def first[T](items: list[T]) -> T:\n    return items[0]\n"
                          "label = f\"{'a'} {{\"k\": 1}[\"k\"]}\"\n@bp.get('/')\ndef index():\n    time.sleep(5)\n"
                          "    return label\n"})  # fmt: skip
    report = run_audit(tmp_path, select=["ALL"])
    assert [(f.code, f.line) for f in report.findings] == [("FG403", 10)]
    if sys.version_info < (3, 12):
        assert report.skipped == [("app/views.py", "line 4, 5, 7 skipped, the rest read: newer Python than 3.11?")]
    else:
        assert report.skipped == []


def test_baseline_records_then_reports_only_new_findings(tmp_path: Path) -> None:
    project = write_tree(tmp_path / "svc", {**BAD["FG101"], **BAD["FG601"]})
    baseline = tmp_path / "audit-baseline.json"
    first = runner.invoke(app, ["audit", str(project), "--baseline", str(baseline)])
    assert first.exit_code == 0 and "recorded 2 finding(s)" in first.output
    assert runner.invoke(app, ["audit", str(project), "--baseline", str(baseline)]).output == "no findings\n"
    # Lines moved above a recorded finding do not make it new; a new problem is reported alone.
    config = project / "app/config.py"
    config.write_text("# settings\n\n" + config.read_text())
    write_tree(project, BAD["FG401"])
    result = runner.invoke(app, ["audit", str(project), "--baseline", str(baseline)])
    assert result.exit_code == 1
    assert [line.split(": ")[1].split()[0] for line in result.output.splitlines() if ": FG" in line] == ["FG401"]
    again = runner.invoke(app, ["audit", str(project), "--baseline", str(baseline), "--update-baseline"])
    assert again.exit_code == 0 and "recorded 3 finding(s)" in again.output
    baseline.write_text("{not json")
    broken = runner.invoke(app, ["audit", str(project), "--baseline", str(baseline)])
    assert broken.exit_code == 2 and "is not a flaskgen audit baseline" in broken.output


def test_github_format_annotates_files_relative_to_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path / "svc", {**BAD["FG601"], "app/broken.py": "def f(:\n"})
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["audit", "svc", "--format", "github"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == (
        "::warning file=svc/app/config.py,line=2,title=FG601 hardcoded-secret-key::SECRET_KEY is the literal "
        "'dev-secr'.... Fix: read it from the environment with no default (FLASK_SECRET_KEY with "
        "app.config.from_prefixed_env())."
    )
    assert lines[1].startswith("::notice file=svc/app/broken.py::flaskgen audit skipped this file or lines of it")
    assert lines[-1] == "1 finding(s)"


def test_pre_commit_hook_runs_the_audit(tmp_path: Path) -> None:
    """.pre-commit-hooks.yaml with the real pre-commit: it installs this checkout and fails a commit
    that adds an anti-pattern, then passes once it is fixed."""
    service = write_tree(tmp_path / "svc", BAD["FG601"])
    env = {**os.environ, **GIT_IDENTITY, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    git(service, "init", "-q")
    commit_all(service, "service")

    def hook() -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pre_commit", "try-repo", str(REPO), "flaskgen-audit", "--all-files"]
        return subprocess.run(command, cwd=service, env=env, capture_output=True, text=True, timeout=600)

    failed = hook()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "app/config.py:2: FG601" in failed.stdout
    write_tree(service, {"app/config.py": GOOD["secret-from-env"]["config.py"]})
    commit_all(service, "secret from the environment")
    passed = hook()
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "flaskgen audit" in passed.stdout and "Passed" in passed.stdout


def test_corpus_score_counts_verdicts_and_misses(tmp_path: Path) -> None:
    """The corpus script on a mirror made here: export at the commit, judge, precision and recall."""
    from tests.audit_corpus import score

    work = write_tree(tmp_path / "work", {**BAD["FG603"], **BAD["FG601"], "data.bin": "x"})
    git(work, "init", "-q")
    commit = commit_all(work, "project")
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(tmp_path / "mirror/acme+svc/repo")], check=True)
    tree = score.export(tmp_path / "mirror", "acme/svc", commit, tmp_path / "trees")
    assert (tree / "app/__init__.py").read_text() == BAD["FG603"]["app/__init__.py"]
    corpus = {
        "verdict": [
            {"repo": "acme/svc", "code": "FG603", "path": "app/__init__.py", "line": 2, "verdict": "TP"},
            {"repo": "acme/svc", "code": "FG601", "path": "app/config.py", "line": 2, "verdict": "debatable"},
        ],
        "missed": [{"repo": "acme/svc", "code": "FG401", "path": "app/views.py", "line": 9, "why": "x"}],
    }
    result = score.Score()
    own = score.judge("acme/svc", audit(tree, select=["ALL"]), corpus, result)
    assert own == {"TP": 1, "debatable": 1, "missed": 1}
    assert (result.precision, result.recall) == (0.5, 0.5)
    corpus["verdict"].pop()
    unjudged = score.Score()
    score.judge("acme/svc", audit(tree, select=["ALL"]), corpus, unjudged)
    assert [f.code for _, f in unjudged.unjudged] == ["FG601"]


def test_corpus_file_is_complete() -> None:
    """Every project (corpus.toml and the first-pass fresh sets) has a commit and a set; every verdict is
    TP/FP/debatable with a reason."""
    import tomllib

    from tests.audit_corpus.score import CORPUS, VERDICTS

    for path, least in ((CORPUS, 15), (CORPUS.with_name("fresh-1.toml"), 10), (CORPUS.with_name("fresh-2.toml"), 10)):
        corpus = tomllib.loads(path.read_text())
        repos = {p["repo"] for p in corpus["project"]}
        assert len(repos) >= least and all(len(p["commit"]) == 40 and p["set"] for p in corpus["project"]), path
        for entry in corpus["verdict"] + corpus.get("missed", []):
            assert entry["repo"] in repos and entry["code"] in {r.code for r in RULES}, (path, entry)
        assert all(v["verdict"] in VERDICTS and v["why"] for v in corpus["verdict"]), path
