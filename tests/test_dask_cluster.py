"""A real Dask cluster: ``dask scheduler`` and two ``dask worker --nthreads 1`` processes.

They run on 127.0.0.1 over mutual TLS (a CA and one certificate made for the
test, in its temporary directory), as docs/sweeps.md tells a user to start a
cluster; ``popsim sweep --scheduler tls://…`` reaches them with the TLS settings
of Dask's configuration (environment variables). The sweep's table must be the
serial executor's, byte for byte; a worker killed (SIGKILL) while the sweep runs
must cost nothing: every point once, the same table.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from popsim.workflows.sweep import load_sweep, run_sweep

ROOT = Path(__file__).resolve().parents[1]
DASK = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")

BASE = """
[scenario]
name = "host and community"
generations = 20
burn_in = 150
replicates = 12
seed = 4

[[demes]]
name = "host"
size = 2000

[[demes]]
name = "iso"
size = { start = 30, end = 600 }
inbreeding = 0.01
founded = { generation = 0, from = "host", founders = 30 }

[locus]
pathogenic_mutation_rate = 1e-4

[locus.selection]
affected = 0.1

[[locus.founder_alleles]]
name = "M712T"
deme = "iso"
generation = 0
copies = 1

[[migration]]
source = "host"
dest = "iso"
rate = 0.001
"""

SWEEP = """
[sweep]
base = "base.toml"
deme = "iso"

[[parameters]]
key = "demes.iso.inbreeding"
low = 0.0
high = 0.05
steps = {steps}

[[parameters]]
key = "migration.0.rate"
values = [0.0, 0.01]
"""


def _write_sweep(directory: Path, steps: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "base.toml").write_text(BASE)
    path = directory / "sweep.toml"
    path.write_text(SWEEP.format(steps=steps))
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(scheduler address, client environment, worker processes) of a running cluster."""
    if DASK is None:
        pytest.skip("no dask command")
    from distributed.security import Security

    folder = tmp_path_factory.mktemp("cluster")
    temporary = Security.temporary()  # the CA signs one certificate, used by every end
    files = {"ca.pem": temporary.tls_ca_file, "cert.pem": temporary.tls_scheduler_cert,
             "key.pem": temporary.tls_scheduler_key}
    for name, text in files.items():
        (folder / name).write_text(text)
        os.chmod(folder / name, 0o600)
    tls = ["--tls-ca-file", str(folder / "ca.pem"), "--tls-cert", str(folder / "cert.pem"),
           "--tls-key", str(folder / "key.pem")]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_NUM_THREADS": "1",
           "DASK_DISTRIBUTED__COMM__TLS__CA_FILE": str(folder / "ca.pem"),
           "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT": str(folder / "cert.pem"),
           "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY": str(folder / "key.pem")}
    address = f"tls://127.0.0.1:{_free_port()}"
    with ExitStack() as stack:
        logs = [stack.enter_context(open(folder / f"{name}.log", "w"))
                for name in ("scheduler", "worker0", "worker1")]
        yield from _run_cluster(address, env, tls, logs)


def _run_cluster(address: str, env: dict[str, str], tls: list[str], logs: list) -> Iterator:
    """Start the scheduler and two workers, yield (address, env, workers), stop them."""
    processes = [subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
         "--protocol", "tls", "--no-dashboard", *tls],
        env=env, stdout=logs[0], stderr=subprocess.STDOUT)]
    workers = [subprocess.Popen(
        [DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1",
         "--no-dashboard", "--name", f"worker{k}", *tls],
        env=env, stdout=logs[1 + k], stderr=subprocess.STDOUT) for k in range(2)]
    processes += workers
    try:
        _wait_for_workers(address, env, 2)
        yield address, env, workers
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_for_workers(address: str, env: dict[str, str], count: int) -> None:
    code = (
        "from dask.distributed import Client; from distributed.security import Security\n"
        f"c = Client({address!r}, security=Security(), timeout='60s')\n"
        f"c.wait_for_workers({count}, timeout=60)\nc.close()\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)


FIT = """
[fit]
base = "base.toml"
seed = 3
deme = "iso"

[abc]
method = "likelihood"
simulations = 40
rounds = 2
batch = 5

[[priors]]
key = "demes.iso.inbreeding"
name = "F"
distribution = "uniform"
low = 0.0
high = 0.05

[[observed]]
name = "screen"
carriers = 3
screened = 40
allele = "any"
source = "made up for the test"
"""


def _sweep_command(path: Path, out: Path, address: str) -> list[str]:
    return [sys.executable, "-m", "popsim", "sweep", str(path), "--out", str(out),
            "--scheduler", address, "--batch", "1"]


def test_a_sweep_on_the_cluster_equals_the_serial_sweep(cluster, tmp_path):
    address, env, _ = cluster
    path = _write_sweep(tmp_path, steps=3)
    serial = run_sweep(load_sweep(path), tmp_path / "serial", executor="serial")
    subprocess.run(_sweep_command(path, tmp_path / "dask", address), env=env, check=True,
                   timeout=300, capture_output=True)
    assert len(serial.table) == 6
    assert ((tmp_path / "dask" / "results.csv").read_bytes()
            == (tmp_path / "serial" / "results.csv").read_bytes())


def test_a_fit_on_the_cluster_equals_the_serial_fit(cluster, tmp_path):
    """``popsim fit --scheduler`` sends its draws to the cluster; its posterior is the
    serial executor's, byte for byte."""
    from popsim.workflows.fit import load_fit, run_fit

    address, env, _ = cluster
    (tmp_path / "base.toml").write_text(BASE)
    path = tmp_path / "fit.toml"
    path.write_text(FIT)
    run_fit(load_fit(path), tmp_path / "serial", executor="serial", figures=False)
    subprocess.run(
        [sys.executable, "-m", "popsim", "fit", str(path), "--out", str(tmp_path / "dask"),
         "--scheduler", address, "--no-figures"],
        env=env, check=True, timeout=300, capture_output=True,
    )
    for name in ("posterior.csv", "summary.csv"):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "serial" / name).read_bytes()


@pytest.mark.slow  # about 20 s on an idle 2-core machine, a minute under load
def test_a_worker_killed_mid_sweep_loses_and_duplicates_nothing(cluster, tmp_path):
    address, env, workers = cluster
    path = _write_sweep(tmp_path, steps=20)
    serial = run_sweep(load_sweep(path), tmp_path / "serial", executor="serial")
    sweep = subprocess.Popen(_sweep_command(path, tmp_path / "dask", address), env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    points = tmp_path / "dask" / "points"
    deadline = time.monotonic() + 240
    while not (points.is_dir() and len(list(points.glob("batch-*.json"))) >= 3):
        assert sweep.poll() is None, sweep.stdout.read()
        assert time.monotonic() < deadline, "no batch committed"
        time.sleep(0.05)
    at_kill = len(list(points.glob("batch-*.json")))
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait(10)
    output, _ = sweep.communicate(timeout=300)
    assert sweep.returncode == 0, output
    done = len(list(points.glob("batch-*.json")))
    assert at_kill < done == len(serial.table) == 40
    assert ((tmp_path / "dask" / "results.csv").read_bytes()
            == (tmp_path / "serial" / "results.csv").read_bytes())
