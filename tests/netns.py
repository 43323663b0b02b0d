"""Hosts on one private network, made of Linux network namespaces: each host a namespace with one
veth on a bridge; the bridge itself carries the root namespace's address on that network (the
proxy, in the tests). Needs root and iproute2 (`ip`); nftables (`nft`) to load a host's firewall.

    with private_network("fgh") as net:
        host = net.add_host("h1")          # 10.x.y.11
        net.run_in(host, ["nft", "-f", "rules.nft"])
        net.cut(host)                       # its link down: packets to it vanish, nothing answers
        net.restore(host)
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers import require


@dataclass
class Host:
    name: str
    namespace: str
    address: str
    veth: str
    """The bridge's end of the host's link (in the root namespace)."""


@dataclass
class PrivateNetwork:
    tag: str
    prefix: str
    """The first three octets of the network's /24."""
    bridge: str
    hosts: list[Host] = field(default_factory=list)

    @property
    def proxy_address(self) -> str:
        """The root namespace's address on the network (the bridge's)."""
        return f"{self.prefix}.1"

    def add_host(self, name: str, number: int | None = None) -> Host:
        """A namespace named after name, its address prefix.<number> (11, 12, ... by default)."""
        number = number or 11 + len(self.hosts)
        host = Host(name, f"{self.tag}-{name}", f"{self.prefix}.{number}", f"{self.tag}{name}"[:15])
        self.hosts.append(host)
        inside = f"{host.veth[:13]}-i"
        ip("netns", "add", host.namespace)
        ip("link", "add", host.veth, "type", "veth", "peer", "name", inside)
        ip("link", "set", inside, "netns", host.namespace)
        ip("link", "set", host.veth, "master", self.bridge, "up")
        ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", inside)
        ip("-n", host.namespace, "link", "set", inside, "up")
        ip("-n", host.namespace, "link", "set", "lo", "up")
        return host

    def command(self, host: Host, argv: Sequence[str]) -> list[str]:
        """argv run inside host's namespace (`ip netns exec` execs it: the pid is argv's own)."""
        return ["ip", "netns", "exec", host.namespace, *argv]

    def run_in(self, host: Host, argv: Sequence[str], *, timeout: float = 60, **kwargs: Any) -> str:
        """Run argv in host's namespace; its stdout (AssertionError with its output on failure)."""
        result = subprocess.run(self.command(host, argv), capture_output=True, text=True, timeout=timeout, **kwargs)
        assert result.returncode == 0, f"{argv} in {host.name} failed: {result.stdout}{result.stderr}"
        return result.stdout

    def popen_in(self, host: Host, argv: Sequence[str], env: Mapping[str, str], log: Path, cwd: Path) -> Any:
        """Start argv in host's namespace, in a session of its own, output to log."""
        with log.open("ab") as out:
            return subprocess.Popen(
                self.command(host, argv), cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def cut(self, host: Host) -> None:
        """The host's link down, on the bridge's side: packets to it vanish, no error comes back
        (a cable pulled, a VM frozen); its processes keep running."""
        ip("link", "set", host.veth, "down")

    def restore(self, host: Host) -> None:
        ip("link", "set", host.veth, "up")


def ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, f"ip {' '.join(args)}: {result.stderr.strip()}"


def require_network_tools() -> None:
    """Skip (fail under CI) unless this process can make namespaces: root, `ip` and `nft`."""
    require(os.geteuid() == 0, "network namespaces need root")
    require(shutil.which("ip") is not None, "iproute2 is not installed (apt-get install iproute2)")
    require(shutil.which("nft") is not None, "nftables is not installed (apt-get install nftables)")


def free_prefix() -> str:
    """A /24 in 10.150.0.0/15 that no route on this machine covers yet (a per-process guess first,
    so parallel runs differ)."""
    routes = subprocess.run(["ip", "-4", "route", "show"], capture_output=True, text=True, check=True).stdout
    start = os.getpid() % 500
    for offset in range(500):
        n = (start + offset) % 500
        prefix = f"10.{150 + n // 250}.{n % 250}"
        if f"{prefix}.0/24" not in routes:
            return prefix
    raise RuntimeError("no free /24 in 10.150.0.0/15")


@contextmanager
def private_network(tag: str) -> Iterator[PrivateNetwork]:
    """A bridge with the root namespace on it as .1; every host added is removed at the end."""
    require_network_tools()
    tag = f"{tag}{os.getpid() % 10000}"
    net = PrivateNetwork(tag, free_prefix(), f"{tag}br")
    ip("link", "add", net.bridge, "type", "bridge")
    try:
        ip("addr", "add", f"{net.proxy_address}/24", "dev", net.bridge)
        ip("link", "set", net.bridge, "up")
        yield net
    finally:
        for host in net.hosts:
            subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", net.bridge], capture_output=True, check=False)
