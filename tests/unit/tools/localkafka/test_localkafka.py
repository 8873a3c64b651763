"""The local Kafka's nodes and the SASL secret as its tools take it (inspections/localkafka/node.py,
credentials.py); tests/integration/test_security.py and tests/faults/test_cluster.py run them."""

from __future__ import annotations

import base64
import hashlib
import subprocess

import pytest

from inspections.localkafka import credentials

AWKWARD = ' ,]"\\=p 密码😀'


def test_a_jaas_value_keeps_quotes_and_backslashes_as_text():
    assert credentials.jaas_quoted('a"b\\c') == '"a\\"b\\\\c"'


def test_a_properties_value_is_latin_with_unicode_escapes():
    value = credentials.properties_value(AWKWARD)
    assert value.isascii() and "\n" not in value
    assert value.startswith("\\ ")  # the leading space kept
    assert "\\\\" in value and "\\u5bc6\\u7801" in value and "\\ud83d\\ude00" in value


def test_java_reads_back_the_jaas_line_from_the_properties_file(tmp_path):
    """Round trip through the JDK's own Properties: the value Java gets is the JAAS line."""
    line = credentials.jaas_line("SCRAM-SHA-512", "inspector", AWKWARD)
    props = tmp_path / "server.properties"
    props.write_text(f"jaas={credentials.properties_value(line)}\n", encoding="latin-1")
    source = tmp_path / "Read.java"
    source.write_text(
        "import java.io.*; import java.util.*;\n"
        "public class Read { public static void main(String[] a) throws Exception {\n"
        "  Properties p = new Properties(); p.load(new FileInputStream(a[0]));\n"
        "  System.out.write(p.getProperty(\"jaas\").getBytes(\"UTF-8\")); System.out.flush();"
        " } }\n")
    done = subprocess.run(["java", str(source), str(props)], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == line


def test_the_scram_argument_holds_no_password_and_is_what_kafka_derives():
    argument = credentials.scram_argument("SCRAM-SHA-512", "inspector", AWKWARD)
    assert AWKWARD not in argument and ",password=" not in argument
    fields = dict(part.split("=", 1) for part in
                  argument.removeprefix("SCRAM-SHA-512=[").removesuffix("]").split(","))
    assert set(fields) == {"name", "salt", "iterations", "saltedpassword"}
    salt = base64.b64decode(fields["salt"])
    assert base64.b64decode(fields["saltedpassword"]) == hashlib.pbkdf2_hmac(
        "sha512", AWKWARD.encode(), salt, int(fields["iterations"]))


@pytest.mark.parametrize("user", ["a,b", 'a"b', " a", "", "a]"])
def test_a_user_name_kafkas_parser_cannot_carry_is_refused(user):
    with pytest.raises(credentials.CredentialError, match="INSPECTIONS_KAFKA_SASL_USERNAME"):
        credentials.scram_argument("SCRAM-SHA-256", user, "pw")


def test_the_format_tool_gets_its_credentials_in_a_file_not_on_its_command_line(
        tmp_path, monkeypatch):
    from inspections.localkafka import node as nodes
    from runtime.config.settings import Settings

    settings = Settings(home=tmp_path, kafka_security_protocol="SASL_PLAINTEXT",
                        kafka_sasl_username="inspector", kafka_sasl_password=AWKWARD)
    [node] = nodes.nodes_of(settings)
    node.dir.mkdir(parents=True)
    nodes.write_config(settings, node, [node])
    seen = {}

    def run(command, **_):
        seen["argv"] = command
        argfile = next(a for a in command if a.startswith("@"))[1:]
        seen["mode"] = __import__("os").stat(argfile).st_mode & 0o777
        seen["args"] = open(argfile).read()
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(nodes.subprocess, "run", run)
    nodes.format_storage(settings, node, [node], "java", "cp", "cluster", lambda *_: None)
    assert not any("--add-scram" in a or "saltedpassword" in a for a in seen["argv"])
    assert "--add-scram" in seen["args"] and seen["mode"] == 0o600
    assert not (node.dir / "format.args").exists()  # removed once it ran


def test_a_cluster_of_three_nodes_votes_together_and_keeps_three_replicas(tmp_path):
    from inspections.localkafka import node as nodes
    from runtime.config.settings import Settings

    settings = Settings(home=tmp_path, broker_port=29000, broker_nodes=3)
    cluster = nodes.nodes_of(settings)
    assert [(n.id, n.port, n.controller_port) for n in cluster] == [
        (1, 29000, 29001), (2, 29002, 29003), (3, 29004, 29005)]
    assert len({n.dir for n in cluster}) == 3
    props = nodes.properties(settings, cluster[1], cluster)
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == \
        "1@127.0.0.1:29001,2@127.0.0.1:29003,3@127.0.0.1:29005"
    assert props["offsets.topic.replication.factor"] == "3"
    assert props["min.insync.replicas"] == "2"
    assert settings.bootstrap == "127.0.0.1:29000,127.0.0.1:29002,127.0.0.1:29004"
    assert (settings.replicas, settings.min_insync) == (3, 2)
    one = Settings(home=tmp_path, broker_port=29000)
    assert (one.replicas, one.min_insync, one.bootstrap) == (1, 1, "127.0.0.1:29000")
    elsewhere = Settings(bootstrap_servers="kafka-1:9092", broker_nodes=3)
    assert elsewhere.replicas == 1  # an existing Kafka: as INSPECTIONS_REPLICATION_FACTOR says
