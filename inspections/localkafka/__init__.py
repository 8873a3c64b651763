"""An Apache Kafka (KRaft) that the project runs itself, from Kafka's own jars: one node, or
a cluster of several on loopback (``INSPECTIONS_BROKER_NODES``; ``localkafka.node``).

Maven resolves the pinned release (``pom.xml`` beside this file) into its local repository
once; the classpath it prints is cached under the broker's folder. Each node runs
``kafka.Kafka`` on the machine's JDK, both roles in one process, bound to loopback, with its
data in ``<home>/kafka/<port>/``. Nothing else is downloaded.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from inspections.localkafka.node import (
    LOG4J2,
    BrokerError,
    Node,
    format_storage,
    nodes_of,
    write_config,
)
from inspections.localkafka.processes import (
    alive,
    answers_metadata,
    broker_processes,
    cmdline,
    port_open,
    resident_bytes,
)
from runtime.config.settings import Settings

HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"
MIN_JAVA = 17


def kafka_version(pom: Path = POM) -> str:
    """The Apache Kafka release the pom pins (``kafka.version``)."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(pom).getroot().find("m:properties/m:kafka.version", ns)
    if node is None or not (node.text or "").strip():
        raise BrokerError(f"{pom} has no <kafka.version> property")
    return node.text.strip()


@dataclass(frozen=True)
class Status:
    running: bool  # every node
    ready: bool
    pid: int | None  # the first node's
    bootstrap: str
    version: str
    data_dir: Path
    rss_bytes: int | None = None
    pids: tuple[int | None, ...] = ()  # each node's, None where it does not run

    def describe(self) -> str:
        up = sum(p is not None for p in self.pids)
        if not up:
            return f"stopped (Kafka {self.version}, data in {self.data_dir})"
        state = "ready" if self.ready else "starting, not answering yet"
        memory = f", resident memory {self.rss_bytes / 2**20:.0f} MiB" if self.rss_bytes else ""
        who = (f"pid {self.pid}" if len(self.pids) == 1 else
               f"{up} of {len(self.pids)} nodes, pids {', '.join(str(p) for p in self.pids)}")
        running = "running" if up == len(self.pids) else "degraded"
        return (f"{running}, {state}: {who}, bootstrap {self.bootstrap}, "
                f"Kafka {self.version}{memory}, data in {self.data_dir}")


class LocalBroker:
    def __init__(self, settings: Settings, say=print) -> None:
        self.dir = settings.broker_dir
        recorded = self.dir / "nodes"  # what the last start ran: `broker stop` stops them all
        if settings.broker_nodes == 1 and recorded.is_file():
            settings = settings.model_copy(
                update={"broker_nodes": int(recorded.read_text().strip() or 1)})
        self.settings = settings
        self.nodes = nodes_of(settings)
        self.say = say
        self.version = kafka_version()

    @property
    def bootstrap(self) -> str:
        return ",".join(n.address for n in self.nodes)

    # back-compatible names for the one-node case (its files are in ``dir``)
    @property
    def config_file(self) -> Path:
        return self.nodes[0].config_file

    @property
    def data_dir(self) -> Path:
        return self.nodes[0].data_dir if len(self.nodes) == 1 else self.dir

    # -- tools ---------------------------------------------------------------------------
    def _java(self) -> str:
        java = shutil.which(self.settings.java)
        if java is None:
            raise BrokerError(
                f"Java not found ('{self.settings.java}' is not on PATH). The local broker needs "
                f"a JDK {MIN_JAVA}+: install OpenJDK 17 (Debian/Ubuntu: apt-get install "
                "openjdk-17-jdk-headless), or set INSPECTIONS_JAVA to a java binary, or use an "
                "existing Kafka with INSPECTIONS_BOOTSTRAP_SERVERS."
            )
        out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
        match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
        major = int(match.group(1)) if match else 0
        if major == 1 and match and match.group(2):  # "1.8" style
            major = int(match.group(2))
        if major < MIN_JAVA:
            raise BrokerError(
                f"{java} is Java {major or 'unknown'}; Apache Kafka {self.version} needs Java "
                f"{MIN_JAVA}+. Install OpenJDK 17 or set INSPECTIONS_JAVA."
            )
        return java

    def _mvn(self) -> str:
        mvn = shutil.which(self.settings.mvn)
        if mvn is None:
            raise BrokerError(
                f"Maven not found ('{self.settings.mvn}' is not on PATH). It fetches Apache Kafka's "
                "jars from Maven Central on first use: install Maven (Debian/Ubuntu: apt-get "
                "install maven), or set INSPECTIONS_MVN, or use an existing Kafka with "
                "INSPECTIONS_BOOTSTRAP_SERVERS."
            )
        return mvn

    # -- jars ----------------------------------------------------------------------------
    def _classpath_file(self) -> Path:
        digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:12]
        return self.settings.home / "kafka" / f"classpath-{self.version}-{digest}.txt"

    def classpath(self) -> str:
        """Kafka's runtime classpath; Maven resolves it the first time, then it is cached."""
        cache = self._classpath_file()
        if cache.is_file():
            cp = cache.read_text().strip()
            if cp and all(Path(jar).is_file() for jar in cp.split(os.pathsep)):
                return cp
        mvn = self._mvn()
        cache.parent.mkdir(parents=True, exist_ok=True)
        self.say(f"Resolving Apache Kafka {self.version} jars with Maven (first use only) ...")
        cmd = [
            # --strict-checksums: a jar whose checksum does not match is an error, not a warning.
            mvn, "-B", "-q", "--strict-checksums", "-f", str(POM), "dependency:build-classpath",
            f"-Dmdep.outputFile={cache}",
        ]
        if self.settings.maven_repo_local:
            cmd.append(f"-Dmaven.repo.local={self.settings.maven_repo_local}")
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0 or not cache.is_file():
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            cache.unlink(missing_ok=True)
            raise BrokerError(
                "Maven could not resolve Apache Kafka's jars. Check that Maven Central is "
                f"reachable (or your Maven mirror in ~/.m2/settings.xml), then retry.\n{tail}"
            )
        return cache.read_text().strip()

    # -- life cycle ------------------------------------------------------------------------
    def _running_pid(self, node: Node) -> int | None:
        try:
            pid = int(node.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if alive(pid) and str(node.config_file) in cmdline(pid):
            return pid
        return None

    def node_pids(self) -> dict[int, int | None]:
        """Each node's pid (None where it does not run), by node id."""
        return {n.id: self._running_pid(n) for n in self.nodes}

    def status(self) -> Status:
        pids = tuple(self.node_pids().values())
        first = next((p for p in pids if p is not None), None)
        return Status(
            running=all(p is not None for p in pids),
            ready=first is not None and answers_metadata(self.bootstrap, self.settings),
            pid=first,
            bootstrap=self.bootstrap,
            version=self.version,
            data_dir=self.data_dir,
            rss_bytes=sum(resident_bytes(p) or 0 for p in pids if p is not None) or None,
            pids=pids,
        )

    def _cluster_id(self) -> str:
        """The cluster's id: made once, kept beside the nodes (each formats with it)."""
        path = self.dir / "cluster.id"
        if path.is_file():
            return path.read_text().strip()
        cluster_id = "-"
        while cluster_id.startswith("-"):  # as Kafka's own random-uuid: no leading dash
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        path.write_text(cluster_id + "\n")
        return cluster_id

    @contextlib.contextmanager
    def _lock(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def start(self) -> Status:
        """Start every node that does not run (all of them, or one that was killed); return
        once the cluster answers with every node in it."""
        with self._lock():
            (self.dir / "nodes").write_text(f"{len(self.nodes)}\n")
            started = []
            for node in self.nodes:
                pid = self._running_pid(node)
                if pid is None:
                    started.append(self._launch(node))
                elif len(self.nodes) == 1:
                    self.say(f"Kafka broker already running (pid {pid}).")
            self._wait_ready(started)
        return self.status()

    def _launch(self, node: Node) -> int:
        s = self.settings
        for port in (node.port, node.controller_port):
            if port_open(node.host, port):
                raise BrokerError(
                    f"Port {node.host}:{port} is taken by another process. Set "
                    "INSPECTIONS_BROKER_PORT (and INSPECTIONS_CONTROLLER_PORT) to free ports, or "
                    "point INSPECTIONS_BOOTSTRAP_SERVERS at the Kafka already listening there."
                )
        java = self._java()
        cp = self.classpath()
        node.log_dir.mkdir(parents=True, exist_ok=True)
        write_config(s, node, self.nodes)
        format_storage(s, node, self.nodes, java, cp, self._cluster_id(), self.say)
        cmd = [
            java, f"-Xms{s.broker_heap}", f"-Xmx{s.broker_heap}", "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20", "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={LOG4J2}", f"-Dkafka.logs.dir={node.log_dir}",
            "-cp", cp, "kafka.Kafka", str(node.config_file),
        ]
        with open(node.log_dir / "stdout.log", "ab") as out:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives the command that started it
            )
        node.pid_file.write_text(f"{proc.pid}\n")
        what = "" if len(self.nodes) == 1 else f" node {node.id} of {len(self.nodes)}"
        self.say(f"Starting Kafka {self.version}{what} on {node.address} (pid {proc.pid}) ...")
        return proc.pid

    def _wait_ready(self, started: list[int]) -> None:
        deadline = time.monotonic() + self.settings.broker_start_timeout_s
        while time.monotonic() < deadline:
            for pid in started:
                if not alive(pid):
                    raise BrokerError(
                        "The Kafka broker exited during start-up. Its log says:\n"
                        f"{self._log_tail()}")
            if all(port_open(n.host, n.port) for n in self.nodes) and (
                answers_metadata(self.bootstrap, self.settings, brokers=len(self.nodes))
            ):
                return
            time.sleep(0.25)
        raise BrokerError(
            f"The Kafka broker did not answer on {self.bootstrap} within "
            f"{self.settings.broker_start_timeout_s:.0f} s (INSPECTIONS_BROKER_START_TIMEOUT_S). "
            f"Its log says:\n{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 20) -> str:
        texts = []
        for node in self.nodes:
            for name in ("stdout.log", "server.log"):
                path = node.log_dir / name
                if path.is_file():
                    texts.extend(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(texts[-lines:]) or "(no log)"

    def controller(self) -> int | None:
        """The node id of the active controller (the KRaft quorum's leader) as the running
        nodes last wrote it (``quorum-state``: the latest epoch's leader), None if unknown."""
        import json

        best: tuple[int, int] | None = None
        for node, pid in zip(self.nodes, self.node_pids().values()):
            state = node.data_dir / "__cluster_metadata-0" / "quorum-state"
            if pid is None or not state.is_file():
                continue
            try:
                said = json.loads(state.read_text())
            except ValueError:
                continue  # being rewritten
            if said.get("leaderId", -1) >= 0 and (best is None or said["leaderEpoch"] > best[0]):
                best = (said["leaderEpoch"], said["leaderId"])
        return None if best is None else best[1]

    def stop(self, timeout_s: float = 60.0) -> bool:
        """Shut every node down cleanly (SIGTERM, then SIGKILL after ``timeout_s``).

        Returns False when no node was running. Data stays.
        """
        with self._lock():
            pids = set(broker_processes(self.dir))
            pids |= {p for p in self.node_pids().values() if p is not None}
            if not pids:
                for node in self.nodes:
                    node.pid_file.unlink(missing_ok=True)
                return False
            for p in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p, signal.SIGTERM)
            deadline = time.monotonic() + timeout_s
            while any(alive(p) for p in pids) and time.monotonic() < deadline:
                time.sleep(0.1)
            for p in pids:
                if alive(p):
                    self.say(f"Broker pid {p} did not stop in {timeout_s:.0f} s; killing it.")
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(p, signal.SIGKILL)
            while any(alive(p) for p in pids):
                time.sleep(0.05)
            for node in self.nodes:
                node.pid_file.unlink(missing_ok=True)
            return True
