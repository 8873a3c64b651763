"""Security on a broker of its own that listens with SASL (SCRAM-SHA-512) over TLS only: every
command and worker connects with the settings, a client without them is refused, the HTTP
views and the operator page want the bearer token, and no secret reaches a log line."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import CLI, REPO, Deployment, Env, free_port
from tests.scenarios import CAMPAIGN, batch_1, year_end_ticks


def _certificates(folder: Path) -> dict[str, str]:
    """A CA and the broker's certificate for 127.0.0.1 (RSA; the key as PKCS#8, which Kafka's
    PEM key store reads)."""
    import trustme
    from cryptography.hazmat.primitives import serialization

    ca = trustme.CA(key_type=trustme.KeyType.RSA)
    leaf = ca.issue_cert("127.0.0.1", "localhost", key_type=trustme.KeyType.RSA)
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
    files = {
        "INSPECTIONS_KAFKA_SSL_CAFILE": ("ca.pem", ca.cert_pem.bytes()),
        "INSPECTIONS_BROKER_SSL_CERTFILE": ("broker.pem", b"".join(
            blob.bytes() for blob in leaf.cert_chain_pems)),
        "INSPECTIONS_BROKER_SSL_KEYFILE": ("broker-key.pem", key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())),
    }
    out = {}
    for variable, (name, data) in files.items():
        (folder / name).write_bytes(data)
        out[variable] = str(folder / name)
    return out


@pytest.fixture
def secure(kafka_home, tmp_path):
    """A SASL_SSL broker, its settings in the environment of every command the test runs."""
    env = Env(kafka_home, free_port(2))
    # A password with what a JAAS line, a properties file and Kafka's SCRAM parser each
    # read as syntax: quote, backslash, comma, bracket, equals, space, non-Latin letters.
    password = secrets.token_urlsafe(16) + ' ,]"\\=p 密码'
    token = secrets.token_urlsafe(16)
    env.vars.update(_certificates(tmp_path), INSPECTIONS_KAFKA_SECURITY_PROTOCOL="SASL_SSL",
                    INSPECTIONS_KAFKA_SASL_MECHANISM="SCRAM-SHA-512",
                    INSPECTIONS_KAFKA_SASL_USERNAME="inspector",
                    INSPECTIONS_KAFKA_SASL_PASSWORD=password, INSPECTIONS_HTTP_TOKEN=token)
    env.password, env.token = password, token
    try:
        env.cli("broker", "start")
        env.cli("topics", "create")
        yield env
    finally:
        env.stop_broker()


def _settings(env: Env, **override):
    from runtime.config.settings import Settings

    values = {k.removeprefix("INSPECTIONS_").lower(): v for k, v in env.vars.items()
              if k.startswith("INSPECTIONS_KAFKA_")}
    return Settings(bootstrap_servers=env.bootstrap, **{**values, **override})


def _get(url: str, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _wait_for(url: str, token: str, timeout_s: float = 120):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            status, body = _get(url, token)
            if status == 200 or time.monotonic() > deadline:
                return status, body
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(1)


def test_sasl_over_tls_bearer_tokens_and_no_secret_in_any_log(secure, tmp_path):
    from kafka.errors import KafkaError

    from runtime.plumbing import kafka
    from tests.integration.support import SCHEDULER_KINDS

    config = secure.settings().broker_dir / "server.properties"
    assert "\nlisteners=SASL_SSL://127.0.0.1:" in config.read_text()
    assert config.stat().st_mode & 0o077 == 0  # it holds the broker's password

    # Without credentials, or with a wrong password, the broker lets nobody in.
    wrong = dict(secure.vars, INSPECTIONS_KAFKA_SASL_PASSWORD="not-the-password",
                 INSPECTIONS_KAFKA_TIMEOUT_S="10")
    refused = subprocess.run([*CLI, "topics", "create"], env=wrong, cwd=REPO,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "not-the-password" not in refused.stdout + refused.stderr
    for bad in (_settings(secure, kafka_security_protocol="PLAINTEXT", kafka_timeout_s=5),
                _settings(secure, kafka_sasl_password="not-the-password", kafka_timeout_s=5)):
        with pytest.raises((KafkaError, OSError)):
            admin = kafka.admin(bad)
            try:
                admin.list_topics()
            finally:
                admin.close()

    deployment = Deployment(secure, tmp_path)
    try:
        for service in ("scheduler", "findings", "escalation"):
            deployment.start(service)
        events, expected = batch_1()
        deployment.publish(events + year_end_ticks())
        base = int(secure.vars["INSPECTIONS_WEB_PORT_BASE"])
        campaign_url = f"http://127.0.0.1:{base}/campaigns/{CAMPAIGN}"
        status, body = _wait_for(campaign_url, secure.token)
        assert status == 200, body

        # What the scheduler derived, read back over SASL_SSL.
        reader = kafka.consumer(_settings(secure), consumer_timeout_ms=5000)
        try:
            reader.subscribe([deployment.topic("breaches")])
            deadline = time.monotonic() + 120
            kinds: set[str] = set()
            while len(kinds) < len(SCHEDULER_KINDS) - 1 and time.monotonic() < deadline:
                for records in reader.poll(timeout_ms=1000).values():
                    kinds |= {json.loads(r.value)["data"]["kind"] for r in records}
        finally:
            reader.close()
        assert {kind for _, kind in expected} <= kinds

        # The views and /metrics want the token; the probes do not.
        for port, path in ((base, f"/campaigns/{CAMPAIGN}"), (base, "/metrics"),
                           (base + 1, "/units/changtai/findings"), (base + 2, "/escalations")):
            status, _ = _get(f"http://127.0.0.1:{port}{path}")
            assert status == 401, path
            status, _ = _get(f"http://127.0.0.1:{port}{path}", "wrong-token")
            assert status == 401, path
        assert _get(f"http://127.0.0.1:{base}/healthz")[0] == 200
        assert _wait_for(f"http://127.0.0.1:{base + 2}/escalations", secure.token)[0] == 200

        # The operator page: 401 without the token; with it, it reads the views with it too.
        operator = secure.spawn("operator", log=tmp_path / "operator.log")
        deployment.workers.append(operator)
        page = f"http://127.0.0.1:{base + 3}/"
        status, body = _wait_for(page, secure.token, timeout_s=60)
        assert status == 200 and CAMPAIGN in body.decode(), body[:500]
        assert _get(page)[0] == 401
        basic = urllib.request.Request(page, headers={"Authorization": "Basic " + __import__(
            "base64").b64encode(f"any:{secure.token}".encode()).decode()})
        with urllib.request.urlopen(basic, timeout=10) as answer:  # a browser's login prompt
            assert answer.status == 200
    finally:
        deployment.close()

    # No secret in any log line: the workers', the operator page's, the broker's.
    logs = [*tmp_path.glob("*.log"), *Path(secure.home).glob(f"kafka/{secure.port}/logs/*")]
    assert len(logs) >= 5
    for path in logs:
        text = path.read_text(errors="replace")
        for secret in (secure.password, secure.token):
            assert secret not in text, f"a secret in {path}"
