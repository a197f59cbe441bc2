"""Loopback servers for the live-source tests: HTTPS ARM/Resource Graph, plain-HTTP
Kubernetes API. Each test gets fresh fault state; the TLS material is made once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live.arm_server import ArmServer, ArmState, Faults, make_ca_and_cert
from tests.live.azure_world import build_estate
from tests.live.k8s_server import K8sServer, K8sState, load_objects, write_kubeconfig


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_ca_and_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture()
def arm_faults() -> Faults:
    return Faults()


@pytest.fixture()
def arm_server(tls_files: tuple[Path, Path, Path], arm_faults: Faults) -> Iterator[ArmServer]:
    _ca, cert, key = tls_files
    server = ArmServer(ArmState(build_estate(), arm_faults), cert, key)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture()
def k8s_server() -> Iterator[K8sServer]:
    server = K8sServer(K8sState(load_objects()))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture()
def kubeconfig(k8s_server: K8sServer, tmp_path: Path) -> Path:
    return write_kubeconfig(tmp_path / "kubeconfig", k8s_server.endpoint)
