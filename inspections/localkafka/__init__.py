"""A single-node Apache Kafka (KRaft) that the project runs itself, from Kafka's own jars.

Maven resolves the pinned release (``pom.xml`` beside this file) into its local repository
once; the classpath it prints is cached under the broker's folder. The broker runs
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

from inspections.localkafka import credentials
from inspections.localkafka.processes import (
    alive,
    answers_metadata,
    broker_processes,
    cmdline,
    port_open,
    resident_bytes,
)
from runtime.settings import Settings

HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"
LOG4J2 = HERE / "log4j2.yaml"
MIN_JAVA = 17


class BrokerError(RuntimeError):
    """A failure an operator can act on; the message says what to do."""


def kafka_version(pom: Path = POM) -> str:
    """The Apache Kafka release the pom pins (``kafka.version``)."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(pom).getroot().find("m:properties/m:kafka.version", ns)
    if node is None or not (node.text or "").strip():
        raise BrokerError(f"{pom} has no <kafka.version> property")
    return node.text.strip()


@dataclass(frozen=True)
class Status:
    running: bool
    ready: bool
    pid: int | None
    bootstrap: str
    version: str
    data_dir: Path
    rss_bytes: int | None = None

    def describe(self) -> str:
        if not self.running:
            return f"stopped (Kafka {self.version}, data in {self.data_dir})"
        state = "ready" if self.ready else "starting, not answering yet"
        memory = f", resident memory {self.rss_bytes / 2**20:.0f} MiB" if self.rss_bytes else ""
        return (
            f"running, {state}: pid {self.pid}, bootstrap {self.bootstrap}, "
            f"Kafka {self.version}{memory}, data in {self.data_dir}"
        )


class LocalBroker:
    def __init__(self, settings: Settings, say=print) -> None:
        self.settings = settings
        self.dir = settings.broker_dir
        self.say = say
        self.version = kafka_version()

    # -- paths ---------------------------------------------------------------------------
    @property
    def config_file(self) -> Path:
        return self.dir / "server.properties"

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    @property
    def log_dir(self) -> Path:
        return self.dir / "logs"

    @property
    def pid_file(self) -> Path:
        return self.dir / "broker.pid"

    @property
    def bootstrap(self) -> str:
        return f"{self.settings.broker_host}:{self.settings.broker_port}"

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
    def _running_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if alive(pid) and str(self.config_file) in cmdline(pid):
            return pid
        return None

    def status(self) -> Status:
        pid = self._running_pid()
        return Status(
            running=pid is not None,
            ready=pid is not None and answers_metadata(self.bootstrap, self.settings),
            pid=pid,
            bootstrap=self.bootstrap,
            version=self.version,
            data_dir=self.data_dir,
            rss_bytes=resident_bytes(pid) if pid is not None else None,
        )

    def _security(self) -> dict[str, str]:
        """The client listener's TLS and SASL properties, from the same settings the clients
        use: the broker is one of its own clients (inter-broker traffic), so it logs in as
        the configured user, whose SCRAM credentials are stored when the storage is
        formatted."""
        s = self.settings
        protocol = s.kafka_security_protocol
        lines: dict[str, str] = {}
        if s.uses_tls:
            if not (s.broker_ssl_certfile and s.broker_ssl_keyfile):
                raise BrokerError(
                    f"INSPECTIONS_KAFKA_SECURITY_PROTOCOL={protocol}: the local broker needs "
                    "its certificate and key: set INSPECTIONS_BROKER_SSL_CERTFILE and "
                    "INSPECTIONS_BROKER_SSL_KEYFILE (PEM; the key unencrypted PKCS#8)")
            keystore = self.dir / "broker-keystore.pem"  # Kafka's PEM store: key, then chain
            keystore.touch(mode=0o600)
            keystore.chmod(0o600)  # it holds the private key
            keystore.write_bytes(Path(s.broker_ssl_keyfile).read_bytes().strip() + b"\n"
                                 + Path(s.broker_ssl_certfile).read_bytes())
            lines.update({"ssl.keystore.type": "PEM", "ssl.keystore.location": str(keystore)})
            if s.kafka_ssl_cafile:
                lines.update({"ssl.truststore.type": "PEM",
                              "ssl.truststore.location": str(s.kafka_ssl_cafile)})
        if "SASL" in protocol:
            mechanism = s.kafka_sasl_mechanism
            jaas = credentials.jaas_line(mechanism, s.kafka_sasl_username,
                                         s.kafka_sasl_password.get_secret_value())
            lines.update({
                "sasl.enabled.mechanisms": mechanism,
                "sasl.mechanism.inter.broker.protocol": mechanism,
                f"listener.name.{protocol.lower()}.{mechanism.lower()}.sasl.jaas.config": jaas,
            })
        return lines

    def _scram_credentials(self) -> list[str]:
        s = self.settings
        if "SASL" not in s.kafka_security_protocol or s.kafka_sasl_mechanism == "PLAIN":
            return []
        try:
            return ["--add-scram", credentials.scram_argument(
                s.kafka_sasl_mechanism, s.kafka_sasl_username,
                s.kafka_sasl_password.get_secret_value())]
        except credentials.CredentialError as exc:
            raise BrokerError(str(exc)) from None

    def _write_config(self) -> None:
        s = self.settings
        host, port, cport = s.broker_host, s.broker_port, s.broker_controller_port
        protocol = s.kafka_security_protocol
        lines = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"{host}:{cport}",
            "listeners": f"{protocol}://{host}:{port},CONTROLLER://{host}:{cport}",
            "advertised.listeners": f"{protocol}://{host}:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": protocol,
            "listener.security.protocol.map": f"CONTROLLER:PLAINTEXT,{protocol}:{protocol}",
            **self._security(),
            "log.dirs": str(self.data_dir),
            "num.partitions": str(s.partitions),
            # Topics are the project's to make (`inspections topics create`), never a typo's.
            "auto.create.topics.enable": "false",
            # One node: the internal topics cannot have more replicas than that.
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
        }
        text = "# Written by `inspections broker start` from settings; edits are overwritten.\n"
        text += "".join(f"{k}={credentials.properties_value(v)}\n" for k, v in lines.items())
        self.config_file.touch(mode=0o600)  # it may hold the SASL password
        self.config_file.chmod(0o600)
        self.config_file.write_text(text)

    def _format(self, java: str, cp: str) -> None:
        if (self.data_dir / "meta.properties").is_file():
            return
        cluster_id = "-"
        while cluster_id.startswith("-"):  # as Kafka's own random-uuid: no leading dash
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        self.say(f"Formatting broker storage in {self.data_dir} (first start only) ...")
        # The tool's arguments in a file of the owner's (the SCRAM credentials are not for
        # every user's `ps`), removed once it has run.
        args = credentials.write_argfile(self.dir / "format.args", [
            "kafka.tools.StorageTool", "format", "--standalone", "-t", cluster_id,
            "-c", str(self.config_file), *self._scram_credentials()])
        try:
            done = subprocess.run(
                [java, "-cp", cp, f"-Dlog4j2.configurationFile={LOG4J2}",
                 f"-Dkafka.logs.dir={self.log_dir}", f"@{args}"],
                capture_output=True, text=True,
            )
        finally:
            args.unlink(missing_ok=True)
        if done.returncode != 0:
            secret = self.settings.kafka_sasl_password.get_secret_value()
            said = f"{done.stdout}{done.stderr}"
            raise BrokerError("Formatting Kafka storage failed:\n"
                              + (said.replace(secret, "***") if secret else said))

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
        """Start the broker, or find it running; return once it answers metadata requests."""
        with self._lock():
            pid = self._running_pid()
            if pid is None:
                pid = self._launch()
            else:
                self.say(f"Kafka broker already running (pid {pid}).")
            self._wait_ready(pid)
        return self.status()

    def _launch(self) -> int:
        s = self.settings
        for port in (s.broker_port, s.broker_controller_port):
            if port_open(s.broker_host, port):
                raise BrokerError(
                    f"Port {s.broker_host}:{port} is taken by another process. Set "
                    "INSPECTIONS_BROKER_PORT (and INSPECTIONS_CONTROLLER_PORT) to free ports, or "
                    "point INSPECTIONS_BOOTSTRAP_SERVERS at the Kafka already listening there."
                )
        java = self._java()
        cp = self.classpath()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        self._format(java, cp)
        cmd = [
            java, f"-Xms{s.broker_heap}", f"-Xmx{s.broker_heap}", "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20", "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={LOG4J2}", f"-Dkafka.logs.dir={self.log_dir}",
            "-cp", cp, "kafka.Kafka", str(self.config_file),
        ]
        with open(self.log_dir / "stdout.log", "ab") as out:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives the command that started it
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        self.say(f"Starting Kafka {self.version} on {self.bootstrap} (pid {proc.pid}) ...")
        return proc.pid

    def _wait_ready(self, pid: int) -> None:
        deadline = time.monotonic() + self.settings.broker_start_timeout_s
        while time.monotonic() < deadline:
            if not alive(pid):
                raise BrokerError(
                    f"The Kafka broker exited during start-up. Its log says:\n{self._log_tail()}"
                )
            if port_open(self.settings.broker_host, self.settings.broker_port) and (
                answers_metadata(self.bootstrap, self.settings)
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
        for name in ("stdout.log", "server.log"):
            path = self.log_dir / name
            if path.is_file():
                texts.extend(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(texts[-lines:]) or "(no log)"

    def stop(self, timeout_s: float = 60.0) -> bool:
        """Shut the broker down cleanly (SIGTERM, then SIGKILL after ``timeout_s``).

        Returns False when no broker was running. Data stays.
        """
        with self._lock():
            pids = set(broker_processes(self.dir))
            pid = self._running_pid()
            if pid is not None:
                pids.add(pid)
            if not pids:
                self.pid_file.unlink(missing_ok=True)
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
            self.pid_file.unlink(missing_ok=True)
            return True

