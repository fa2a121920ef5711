"""The local Dask cluster (``--executor dask``) keeps other local users out.

Its scheduler, nannies and workers speak mutual TLS with throw-away
credentials; a client without them is refused, and no HTTP server (dashboard)
listens. That sweep results do not depend on the executor is in test_sweep.py.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from distributed import Client
from distributed.comm import connect, parse_address
from distributed.security import Security

from popsim.workflows.sweep.executors import local_cluster

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    cluster = local_cluster(1)
    yield cluster
    cluster.close()


def _host_port(address: str) -> tuple[str, int]:
    host, port = parse_address(address)[1].rsplit(":", 1)
    return host, int(port)


def _listening_ports(pid: int) -> set[int]:
    """TCP ports on which process ``pid`` listens (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # state LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def test_the_cluster_listens_on_loopback_over_tls(cluster):
    assert cluster.scheduler_address.startswith("tls://127.0.0.1:")
    for address in cluster.scheduler_info["workers"]:
        assert address.startswith("tls://127.0.0.1:")


def test_a_client_with_the_credentials_runs_work(cluster):
    with Client(cluster.scheduler_address, security=cluster.security, timeout="10s") as client:
        assert client.submit(sum, [1, 2, 3]).result(timeout=30) == 6


def _identity(address: str, security: Security) -> dict:
    """Connect to ``address`` as a client and ask who answers. (A Client that
    fails to connect is not used here: its garbage collection can hang a later
    Client's start.)"""

    async def ask() -> dict:
        comm = await connect(address, timeout="3s", **security.get_connection_args("client"))
        try:
            await comm.write({"op": "identity"})
            return await comm.read()
        finally:
            await comm.close()

    return asyncio.run(ask())


def test_a_client_with_the_credentials_is_answered(cluster):
    assert _identity(cluster.scheduler_address, cluster.security)["type"] == "Scheduler"


def test_a_plain_tcp_client_is_refused(cluster):
    _, port = _host_port(cluster.scheduler_address)
    with pytest.raises((OSError, TimeoutError)):
        _identity(f"tcp://127.0.0.1:{port}", Security())


def test_a_tls_client_with_other_credentials_is_refused(cluster):
    with pytest.raises((OSError, TimeoutError)):
        _identity(cluster.scheduler_address, Security.temporary())


def test_the_scheduler_demands_a_client_certificate(cluster):
    """At the socket level: a TLS client that trusts anything but shows no
    certificate gets no further than the handshake."""
    host, port = _host_port(cluster.scheduler_address)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, port), timeout=3) as raw,
        pytest.raises((ssl.SSLError, OSError)),
        context.wrap_socket(raw) as tls,
    ):
        tls.sendall(b"\0" * 8)
        assert tls.recv(1) != b""  # TLS 1.3 reports the refused certificate here
        raise AssertionError("the scheduler answered a client without a certificate")


def test_no_dashboard_or_http_server_listens(cluster):
    """This process runs the scheduler and the nannies: it listens on their
    comm ports and nothing else (no dashboard on 8787, no HTTP server)."""
    comm = {_host_port(cluster.scheduler_address)[1]}
    comm |= {_host_port(worker.address)[1] for worker in cluster.workers.values()}
    assert _listening_ports(os.getpid()) == comm


def test_workers_serve_no_http_route(cluster):
    """A worker's HTTP server (Dask always starts one) answers 404 even to
    routes it serves by default (health, Prometheus metrics)."""
    with Client(cluster, security=cluster.security, timeout="10s") as client:
        sockets = client.run(
            lambda dask_worker: [
                sock.getsockname()[:2] for sock in dask_worker.http_server._sockets.values()
            ]
        )
    addresses = [address for found in sockets.values() for address in found]
    assert addresses
    for host, port in addresses:
        for path in ("/health", "/metrics", "/"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=3)
            assert refused.value.code == 404
