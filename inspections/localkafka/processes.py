"""The local broker's processes (psutil: Linux and macOS alike), and whether its port answers."""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

import psutil

from runtime.config.settings import Settings


def process_state(pid: int) -> str | None:
    """The state of ``pid`` (psutil's: ``running``, ``sleeping``, ``zombie``, …), or None when
    there is no such process."""
    try:
        return psutil.Process(pid).status()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def alive(pid: int) -> bool:
    state = process_state(pid)
    if state == psutil.STATUS_ZOMBIE:  # exited; reap it if it is our child
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return state is not None


def resident_bytes(pid: int) -> int | None:
    try:
        return psutil.Process(pid).memory_info().rss
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def cmdline(pid: int) -> list[str]:
    try:
        return psutil.Process(pid).cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return []


def broker_processes(broker_dir: Path) -> list[int]:
    """Every live process running a broker on a configuration in ``broker_dir`` (its own, or
    a cluster node's in ``node-<i>/``)."""
    configs = {str(broker_dir / "server.properties")} | {
        str(p / "server.properties") for p in broker_dir.glob("node-*")}
    pids = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmd = proc.info.get("cmdline") or []
        if "kafka.Kafka" in cmd and configs & set(cmd) and alive(proc.info["pid"]):
            pids.append(proc.info["pid"])
    return pids


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def answers_metadata(bootstrap: str, settings: Settings, brokers: int = 1) -> bool:
    """True when the cluster answers a metadata request (what every client does first) with
    at least ``brokers`` brokers in it."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    from runtime.plumbing.kafka import security

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            request_timeout_ms=3000,
            client_id="inspections-broker-probe",
            **security(settings),
        )
    except (KafkaError, OSError, ValueError):
        return False
    try:
        return len(admin.describe_cluster().get("brokers") or ()) >= brokers
    except (KafkaError, OSError, ValueError):
        return False
    finally:
        admin.close()
