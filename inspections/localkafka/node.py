"""One node of the local Kafka: where it lives, the ports it listens on, its
``server.properties``, and its storage, formatted on first start.

One node (the default) listens on the broker port and the controller port beside it, with its
files in ``<home>/kafka/<port>/``. A cluster of n nodes (``INSPECTIONS_BROKER_NODES``) is n
processes, each broker and controller (KRaft, a static quorum of all n), node i on the broker
port + 2(i-1) and the controller port + 2(i-1), its files in ``<home>/kafka/<port>/node-<i>/``;
the internal topics then have min(3, n) replicas and need 2 in sync.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from inspections.localkafka import credentials
from runtime.config.settings import Settings

HERE = Path(__file__).resolve().parent
LOG4J2 = HERE / "log4j2.yaml"


class BrokerError(RuntimeError):
    """A failure an operator can act on; the message says what to do."""


@dataclass(frozen=True)
class Node:
    id: int  # KRaft's node.id: 1 .. n
    host: str
    port: int
    controller_port: int
    dir: Path

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
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def nodes_of(settings: Settings) -> list[Node]:
    s, n = settings, settings.broker_nodes
    return [Node(i + 1, s.broker_host, s.broker_port + 2 * i, s.broker_controller_port + 2 * i,
                 s.broker_dir if n == 1 else s.broker_dir / f"node-{i + 1}")
            for i in range(n)]


def _security(settings: Settings, node: Node) -> dict[str, str]:
    """The client listener's TLS and SASL properties, from the same settings the clients
    use: the broker is one of its own clients (inter-broker traffic), so it logs in as
    the configured user, whose SCRAM credentials are stored when the storage is
    formatted."""
    s = settings
    protocol = s.kafka_security_protocol
    lines: dict[str, str] = {}
    if s.uses_tls:
        if not (s.broker_ssl_certfile and s.broker_ssl_keyfile):
            raise BrokerError(
                f"INSPECTIONS_KAFKA_SECURITY_PROTOCOL={protocol}: the local broker needs "
                "its certificate and key: set INSPECTIONS_BROKER_SSL_CERTFILE and "
                "INSPECTIONS_BROKER_SSL_KEYFILE (PEM; the key unencrypted PKCS#8)")
        keystore = node.dir / "broker-keystore.pem"  # Kafka's PEM store: key, then chain
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


def properties(settings: Settings, node: Node, nodes: list[Node]) -> dict[str, str]:
    s, host = settings, node.host
    protocol = s.kafka_security_protocol
    replicas = str(min(3, len(nodes)))
    in_sync = str(2 if len(nodes) >= 3 else 1)
    quorum = ({"controller.quorum.bootstrap.servers": f"{host}:{node.controller_port}"}
              if len(nodes) == 1 else  # a static quorum: every node votes
              {"controller.quorum.voters": ",".join(
                  f"{n.id}@{n.host}:{n.controller_port}" for n in nodes)})
    return {
        "process.roles": "broker,controller",
        "node.id": str(node.id),
        **quorum,
        "listeners": f"{protocol}://{host}:{node.port},CONTROLLER://{host}:{node.controller_port}",
        "advertised.listeners": f"{protocol}://{host}:{node.port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": protocol,
        "listener.security.protocol.map": f"CONTROLLER:PLAINTEXT,{protocol}:{protocol}",
        **_security(settings, node),
        "log.dirs": str(node.data_dir),
        "num.partitions": str(s.partitions),
        # Topics are the project's to make (`inspections topics create`), never a typo's.
        "auto.create.topics.enable": "false",
        # The internal topics: as many replicas as there are nodes, up to 3.
        "default.replication.factor": replicas,
        "min.insync.replicas": in_sync,
        "offsets.topic.replication.factor": replicas,
        "transaction.state.log.replication.factor": replicas,
        "transaction.state.log.min.isr": in_sync,
        "share.coordinator.state.topic.replication.factor": replicas,
        "share.coordinator.state.topic.min.isr": in_sync,
        "group.initial.rebalance.delay.ms": "0",
    }


def write_config(settings: Settings, node: Node, nodes: list[Node]) -> None:
    text = "# Written by `inspections broker start` from settings; edits are overwritten.\n"
    text += "".join(f"{k}={credentials.properties_value(v)}\n"
                    for k, v in properties(settings, node, nodes).items())
    node.config_file.touch(mode=0o600)  # it may hold the SASL password
    node.config_file.chmod(0o600)
    node.config_file.write_text(text)


def _scram_credentials(settings: Settings) -> list[str]:
    s = settings
    if "SASL" not in s.kafka_security_protocol or s.kafka_sasl_mechanism == "PLAIN":
        return []
    try:
        return ["--add-scram", credentials.scram_argument(
            s.kafka_sasl_mechanism, s.kafka_sasl_username,
            s.kafka_sasl_password.get_secret_value())]
    except credentials.CredentialError as exc:
        raise BrokerError(str(exc)) from None


def format_storage(settings: Settings, node: Node, nodes: list[Node], java: str, cp: str,
                   cluster_id: str, say) -> None:
    """Format the node's storage for ``cluster_id`` unless it has been."""
    if (node.data_dir / "meta.properties").is_file():
        return
    say(f"Formatting broker storage in {node.data_dir} (first start only) ...")
    # The tool's arguments in a file of the owner's (the SCRAM credentials are not for
    # every user's `ps`), removed once it has run.
    args = credentials.write_argfile(node.dir / "format.args", [
        "kafka.tools.StorageTool", "format", *(["--standalone"] if len(nodes) == 1 else []),
        "-t", cluster_id, "-c", str(node.config_file), *_scram_credentials(settings)])
    try:
        done = subprocess.run(
            [java, "-cp", cp, f"-Dlog4j2.configurationFile={LOG4J2}",
             f"-Dkafka.logs.dir={node.log_dir}", f"@{args}"],
            capture_output=True, text=True,
        )
    finally:
        args.unlink(missing_ok=True)
    if done.returncode != 0:
        secret = settings.kafka_sasl_password.get_secret_value()
        said = f"{done.stdout}{done.stderr}"
        raise BrokerError("Formatting Kafka storage failed:\n"
                        + (said.replace(secret, "***") if secret else said))
