"""How Gunicorn runs in a pod: FG801-FG805, and FG602 for debug switched on in a container's
environment."""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from flaskgen.audit.checks.commands import env_problem
from flaskgen.audit.facts import Image
from flaskgen.audit.model import Hit
from flaskgen.audit.parsers.commands import expand, split_words
from flaskgen.audit.parsers.compose import PROXY_NAMES, mapping
from flaskgen.audit.parsers.gunicorn import GunicornConfig, gunicorn_options, split_bind
from flaskgen.audit.parsers.kubernetes import (
    WORKLOADS,
    Container,
    KubeDoc,
    Pod,
    cpus,
    get_node,
    items,
    leaves,
    line_of,
    pods,
    scalar,
    walk_yaml,
)
from flaskgen.audit.paths import words

GUNICORN_DEFAULT_GRACEFUL_TIMEOUT = 30


KUBERNETES_DEFAULT_GRACE_PERIOD = 30


SECRET_SETTING = re.compile(
    r"SECRET|PASSWORD|PASSWD|PASSPHRASE|(^|_)(PASS|PWD|PW)($|_)|TOKEN|API_?KEY|PRIVATE_KEY|ACCESS_KEY|CREDENTIAL",
    re.IGNORECASE,
)


DEMO_WORDS = {"demo", "example", "sample", "dummy", "fake"}
"""A setting named for a demo (DEMO_LOGIN_PASSWORD, shown on a demo's login page) is no secret of the service."""


NOT_A_SECRET = re.compile(
    r"_?(FILE|PATH|DIR|NAME|NAMESPACE|ID|URL|URI|ENDPOINT|HEADER|TTL|EXPIRES?|LIFETIME|ALGORITHM|HASH|SCHEME|"
    r"LENGTH|MIN|MAX|ROUNDS|POLICY|ENABLED|REQUIRED|TYPE|MODE|LOCATION|BACKEND|PROVIDER|FIELD|REF|KEY_ID|"
    r"PASSWORD_KEY|TOKEN_KEY|TEMPLATE)$",
    re.IGNORECASE,
)


CREDENTIALS_IN_URL = re.compile(r"^[a-z][\w+.-]*://[^/:@\s]*:[^/@\s$]+@", re.IGNORECASE)


NOT_A_SECRET_VALUE = re.compile(r"\d+|true|false|yes|no|on|off|none|null", re.IGNORECASE)


PLACEHOLDER = re.compile(r"\$[({]|\{\{|^<.*>$")
"""`$(VAR)` (Kubernetes's own expansion), `${VAR}` (envsubst), `{{ }}` (a template), `<change-me>`."""


REFERENCE = re.compile(r"existing|secretKeyRef|secretRef|valueFrom|tls|template", re.IGNORECASE)
"""A Helm value under one of these names names a Secret made elsewhere (`existingSecret: web-db`,
`tlsSecret: web-tls`, the certificate's Secret for an Ingress), or is no secret value at all
(`email.templates.passwordChange`: a template's id)."""


DEPENDENCY_PATH = re.compile(r"ready|readiness|depend|deps|/db\b|database", re.IGNORECASE)


INGRESS_NGINX = "nginx.ingress.kubernetes.io/"


ROUTES = {"Ingress", "HTTPRoute", "Route", "IngressRoute", "VirtualService"}
"""What sends outside traffic to a Service: an Ingress, Gateway API route, OpenShift route, Traefik
or Istio route."""


@dataclass(frozen=True)
class GunicornInPod:
    container: Container
    options: GunicornConfig
    """Settings from the container's command line (and GUNICORN_CMD_ARGS)."""


def gunicorn_in(pod: Pod, images: list[Image]) -> GunicornInPod | None:
    """The container that runs Gunicorn: named in its command/args, or, when it sets no command,
    an image a Dockerfile of the project builds whose production stages start Gunicorn (its binds
    read with the container's environment: `-b :$PORT` with `PORT: "8080"`)."""
    for container in pod.containers:
        argv = container.argv
        extra = split_words(container.literal_env("GUNICORN_CMD_ARGS") or "")
        starts = next((i for i, w in enumerate(argv) if Path(w).name == "gunicorn"), None)
        if starts is not None:
            return GunicornInPod(
                container, gunicorn_options(container.path, "kubernetes", 0, argv[starts + 1 :] + extra)
            )
        if argv or PROXY_NAMES.search(container.image):
            continue
        built = [config for image in images if image.built_as(container.image) for config in image.gunicorn]
        if built:
            env = {name: value for name in container.env if (value := container.literal_env(name)) is not None}
            binds = tuple((expand(bind, env), line) for bind, line in built[0].binds)
            return GunicornInPod(container, replace(built[0], binds=binds))
    return None


def _flag(argv: list[str], *names: str) -> str | None:
    for i, word in enumerate(argv):
        key, _, inline = word.partition("=")
        if key in names:
            return inline or (argv[i + 1] if i + 1 < len(argv) else None)
    return None


def workers_hit(found: GunicornInPod, configs: list[GunicornConfig]) -> tuple[Any, Hit] | None:
    """FG801: more workers than 2 x the container's CPU limit + 1."""
    limit_node = found.container.get("resources", "limits", "cpu")
    limit = cpus(scalar(limit_node))
    if limit is None:
        return None
    most = math.floor(2 * limit + 1)
    where = f"the container's CPU limit {scalar(limit_node)} (2 x limit + 1 = {most})"
    workers = found.options.workers[0] if found.options.workers else None
    names = ["WEB_CONCURRENCY", *(name for config in configs for name in config.workers_env)]
    env = next((found.container.env[name] for name in names if name in found.container.env), None)
    if workers is None and env is not None:
        literal = scalar(get_node(env, "value"))
        if literal is None:
            return None  # valueFrom: set from the limit (resourceFieldRef) or a ConfigMap the audit does not chase
        workers = int(literal) if str(literal).isdigit() else None
    if workers is None:
        fixed = [c.workers[0] for c in configs if c.workers]
        if fixed:
            workers = max(fixed)
        elif any(c.workers_from_cpus for c in configs):
            message = f"Gunicorn's worker count follows the node's CPU count (cpu_count() ignores {where})"
            return limit_node, Hit("FG801", line_of(limit_node), message)
    if workers is not None and workers > most:
        return limit_node, Hit("FG801", line_of(limit_node), f"{workers} Gunicorn workers for {where}")
    return None


def graceful_timeout(found: GunicornInPod, configs: list[GunicornConfig]) -> tuple[int, bool]:
    """(Gunicorn's graceful_timeout, whether it was set explicitly)."""
    argv = found.container.argv + split_words(found.container.literal_env("GUNICORN_CMD_ARGS") or "")
    flag = _flag(argv, "--graceful-timeout")
    if flag and flag.isdigit():
        return int(flag), True
    values = [c.graceful_timeout for c in configs if c.graceful_timeout is not None]
    return (max(values), True) if values else (GUNICORN_DEFAULT_GRACEFUL_TIMEOUT, False)


def pre_stop_seconds(container: Container) -> tuple[int, Any] | None:
    """The preStop pause of a container: `sleep N` in an exec hook, or the `sleep:` action."""
    hook = container.get("lifecycle", "preStop")
    if hook is None:
        return None
    seconds = scalar(get_node(hook, "sleep", "seconds"))
    if seconds is None:
        command = " ".join(str(scalar(item)) for item in items(get_node(hook, "exec", "command")))
        match = re.search(r"\bsleep\s+(\d+)", command)
        seconds = match.group(1) if match else None
    return (int(seconds), hook) if seconds is not None and str(seconds).isdigit() else None


def grace_hit(pod: Pod, found: GunicornInPod, configs: list[GunicornConfig]) -> tuple[Any, Hit] | None:
    """FG803: the pod's grace period does not outlast the preStop pause plus Gunicorn's graceful
    timeout. Not reported when all three are Kubernetes's and Gunicorn's defaults."""
    grace_node = pod.get("terminationGracePeriodSeconds")
    grace = int(scalar(grace_node)) if str(scalar(grace_node)).isdigit() else KUBERNETES_DEFAULT_GRACE_PERIOD
    timeout, explicit = graceful_timeout(found, configs)
    pause = pre_stop_seconds(found.container)
    if grace_node is None and pause is None and not explicit:
        return None
    needed = timeout + (pause[0] if pause else 0)
    # With no preStop pause, a grace period equal to graceful_timeout still lets every request
    # that Gunicorn's own worker timeout allows finish.
    if grace > needed or (pause is None and grace == needed):
        return None
    anchor = grace_node if grace_node is not None else pause[1] if pause else pod.workload.node
    shown = f"terminationGracePeriodSeconds {'' if grace_node is not None else '(default) '}{grace}"
    parts = f"preStop {pause[0]} s + graceful_timeout {timeout} s" if pause else f"graceful_timeout {timeout} s"
    return anchor, Hit("FG803", line_of(anchor), f"{shown} is not longer than {parts}: in-flight requests are killed")


def _probe_path(probe: Any) -> str | None:
    path = scalar(get_node(probe, "httpGet", "path"))
    if path is not None:
        return str(path)
    command = " ".join(str(scalar(item)) for item in items(get_node(probe, "exec", "command")))
    match = re.search(r"https?://[^\s/]+(/[^\s'\"]*)", command)
    return match.group(1) if match else None


def liveness_hit(found: GunicornInPod, dependency_paths: dict[str, bool]) -> tuple[Any, Hit] | None:
    """FG802: the liveness probe is a dependency check: the project's view for its path queries a
    dependency, or, with no such view in the project, the path is named for one (`/readyz`)."""
    probe = found.container.get("livenessProbe")
    path = _probe_path(probe) if probe is not None else None
    if path is None:
        return None
    if dependency_paths.get(path.rstrip("/"), bool(DEPENDENCY_PATH.search(path))):
        message = f"the liveness probe calls {path}, which checks dependencies: when one is down every pod restarts"
        return probe, Hit("FG802", line_of(probe), message)
    return None


def service_hits(
    docs: list[KubeDoc], all_pods: list[Pod], gunicorn: dict[int, GunicornInPod], sync: bool
) -> Iterator[tuple[Path, Hit]]:
    """FG804: a Service that clients outside the cluster reach (type LoadBalancer or NodePort, or
    the backend of an Ingress or route that is not ingress-nginx) targets sync Gunicorn with no
    proxy in the pod; ingress-nginx told not to buffer requests or to take bodies of any size. A
    ClusterIP Service that only other pods call has no slow clients."""
    buffered: set[str] = set()
    routed: set[str] = set()
    for doc in docs:
        if doc.kind not in ROUTES:
            continue
        annotations = {k: str(scalar(v)) for k, v in mapping(get_node(doc.node, "metadata", "annotations")).items()}
        nginx_class = str(
            scalar(get_node(doc.node, "spec", "ingressClassName")) or annotations.get("kubernetes.io/ingress.class", "")
        )
        off = annotations.get(INGRESS_NGINX + "proxy-request-buffering", "").lower() == "off"
        for key, node in mapping(get_node(doc.node, "metadata", "annotations")).items():
            if key == INGRESS_NGINX + "proxy-request-buffering" and off and sync:
                message = "ingress-nginx proxy-request-buffering off in front of sync Gunicorn workers"
                yield doc.path, Hit("FG804", line_of(node), message)
            if key == INGRESS_NGINX + "proxy-body-size" and str(scalar(node)).strip() in ("0", "0m", "0k"):
                message = "ingress-nginx proxy-body-size 0: request bodies of any size are accepted"
                yield doc.path, Hit("FG804", line_of(node), message)
        text = " ".join(str(scalar(n)) for n in walk_yaml(doc.node))
        nginx = doc.kind == "Ingress" and (
            "nginx" in nginx_class or any(k.startswith(INGRESS_NGINX) for k in annotations)
        )
        (buffered if nginx and not off else routed).update(re.findall(r"[\w.-]+", text))
    if not sync:
        return
    for doc in docs:
        if doc.kind != "Service" or doc.name in buffered:
            continue
        kind = str(scalar(get_node(doc.node, "spec", "type")) or "ClusterIP")
        if kind not in ("LoadBalancer", "NodePort") and doc.name not in routed:
            continue
        selector = {k: str(scalar(v)) for k, v in mapping(get_node(doc.node, "spec", "selector")).items()}
        targets = [p for p in all_pods if selector and selector.items() <= p.labels.items() and not p.has_proxy]
        for pod in targets:
            found = gunicorn.get(id(pod))
            if found is None:
                continue
            ports = _container_ports(found)
            for port in items(get_node(doc.node, "spec", "ports")):
                target = get_node(port, "targetPort") or get_node(port, "port")
                if str(scalar(target)) in ports:
                    how = f"{kind} Service" if doc.name not in routed else "Service"
                    message = f"{how} {doc.name} targets Gunicorn's port {scalar(target)} directly"
                    yield (
                        doc.path,
                        Hit("FG804", line_of(target), f"{message}, with no Nginx in the pod to buffer requests"),
                    )
                    break


def _container_ports(found: GunicornInPod) -> set[str]:
    ports = {split_bind(bind)[1] for bind, line_of in found.options.binds}
    for item in items(found.container.get("ports")):
        ports.update(
            str(scalar(get_node(item, key))) for key in ("containerPort", "name") if get_node(item, key) is not None
        )
    return ports


def _env_setting(path: Path, name: str, value: Any, node: Any) -> Iterator[tuple[Path, Hit]]:
    text = str(value)
    if PLACEHOLDER.search(text.strip()) or not text.strip():
        return
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)  # postgresPassword, secretName (a Helm value)
    secret_name = SECRET_SETTING.search(snake) and not NOT_A_SECRET.search(snake) and not words(snake) & DEMO_WORDS
    if (secret_name and not NOT_A_SECRET_VALUE.fullmatch(text.strip())) or CREDENTIALS_IN_URL.match(text):
        yield path, Hit("FG805", line_of(node), f"{name} is a literal in the manifest ({text[:4]!r}...)")
        return
    problem = env_problem(name, text, "kubernetes")
    if problem is not None and problem[0] == "FG602":
        yield path, Hit("FG602", line_of(node), problem[1])


def _decoded(data: Any) -> str:
    """A Secret's `data:` value, base64-decoded ("" when it is not base64 of text)."""
    try:
        return base64.b64decode(str(data), validate=True).decode()
    except ValueError:
        return ""


def env_hits(docs: list[KubeDoc]) -> Iterator[tuple[Path, Hit]]:
    """FG805 (and FG602) in container env values, ConfigMap and Secret data, kustomize configMapGenerator
    literals and the values a Helm chart's templates render."""
    for doc in docs:
        if doc.kind in WORKLOADS or doc.kind in ("Job", "CronJob"):
            for node in walk_yaml(doc.node):
                entry = mapping(node)
                if "name" in entry and "value" in entry and scalar(entry["value"]) is not None:
                    yield from _env_setting(
                        doc.path, str(scalar(entry["name"])), scalar(entry["value"]), entry["value"]
                    )
        elif doc.kind in ("ConfigMap", "Secret"):  # a committed Secret is as leaked as a ConfigMap
            for key, node in mapping(get_node(doc.node, "stringData")).items():
                yield from _env_setting(doc.path, key, scalar(node), node)
            for key, node in mapping(get_node(doc.node, "data")).items():
                value = _decoded(scalar(node)) if doc.kind == "Secret" else scalar(node)
                yield from _env_setting(doc.path, key, value, node)
        elif doc.kind == "HelmValues":  # a value the chart's templates render (`.Values.env` renders env.*)
            for keys, node in leaves(doc.node):
                dotted = ".".join(keys)
                if any(f"{dotted}.".startswith(f"{m}.") for m in doc.mentions) and not REFERENCE.search(dotted):
                    hits = _env_setting(doc.path, keys[-1], scalar(node), node)
                    yield from (hit for hit in hits if hit[1].code == "FG805")
        elif doc.kind == "Kustomization":
            for generator in items(get_node(doc.node, "configMapGenerator")):
                for literal in items(get_node(generator, "literals")):
                    name, _, value = str(scalar(literal)).partition("=")
                    yield from _env_setting(doc.path, name, value, literal)


def check_kubernetes(
    docs: list[KubeDoc], configs: list[GunicornConfig], *, images: list[Image], dependency_paths: dict[str, bool]
) -> Iterator[tuple[Path, Hit]]:
    """Every Kubernetes rule on one project's manifests. configs: Gunicorn config files; images:
    the project's Dockerfiles, with Gunicorn as each image starts it."""
    all_pods = pods(docs)
    found = {id(pod): g for pod in all_pods if (g := gunicorn_in(pod, images)) is not None}
    classes = {g.options.effective_worker_class for g in found.values() if g.options.worker_class} | {
        c.effective_worker_class for c in configs if c.worker_class
    }
    sync = bool(found) and classes <= {"sync", "gthread"}
    owner = {id(node): doc.path for doc in docs for node in walk_yaml(doc.node)}
    for pod in all_pods:
        if id(pod) not in found:
            continue
        gunicorn = found[id(pod)]
        for result in (
            workers_hit(gunicorn, configs),
            grace_hit(pod, gunicorn, configs),
            liveness_hit(gunicorn, dependency_paths),
        ):
            if result is not None:
                yield owner.get(id(result[0]), pod.workload.path), result[1]
    yield from service_hits(docs, all_pods, found, sync)
    yield from env_hits(docs)
