"""The token check, the Kafka client options and the settings' errors, without a broker."""

from __future__ import annotations

import base64
import subprocess
import sys

import pytest

from runtime.config.settings import Settings
from runtime.plumbing import webauth
from runtime.plumbing.kafka import security


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("header, path, allowed", [
    ("Bearer s3cret", "/escalations", True),
    ("bearer s3cret", "/escalations", True),
    (_basic("anyone", "s3cret"), "/", True),
    (None, "/escalations", False),
    ("Bearer wrong", "/escalations", False),
    ("Bearer s3cre", "/escalations", False),
    ("Bearer ", "/metrics", False),
    (_basic("s3cret", "wrong"), "/", False),
    ("Basic !!not-base64!!", "/", False),
    ("Token s3cret", "/", False),
    (None, "/healthz", True),
    (None, "/readyz", True),
])
def test_a_request_passes_only_with_the_token(header, path, allowed):
    assert webauth.allows("s3cret", path, header) is allowed


def test_no_token_configured_lets_every_request_pass():
    assert webauth.allows("", "/escalations", None)
    assert webauth.headers(Settings()) == {}
    assert webauth.headers(Settings(http_token="t")) == {"Authorization": "Bearer t"}


def test_client_options_follow_the_protocol(tmp_path):
    import trustme

    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    assert security(Settings()) == {}
    sasl = security(Settings(kafka_security_protocol="SASL_PLAINTEXT",
                             kafka_sasl_username="u", kafka_sasl_password="p"))
    assert sasl == {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512",
                    "sasl_plain_username": "u", "sasl_plain_password": "p"}
    tls = security(Settings(kafka_security_protocol="SSL", kafka_ssl_cafile=tmp_path / "ca.pem"))
    assert tls["security_protocol"] == "SSL"
    assert tls["ssl_context"].check_hostname
    assert len(tls["ssl_context"].get_ca_certs()) == 1


@pytest.mark.parametrize("extra, says", [
    ({"INSPECTIONS_PARTITIONS": "x"}, "INSPECTIONS_PARTITIONS: Input should be a valid integer"),
    ({}, "needs INSPECTIONS_KAFKA_SASL_USERNAME and INSPECTIONS_KAFKA_SASL_PASSWORD"),
])
def test_a_bad_setting_is_named_and_no_value_is_echoed(extra, says):
    done = subprocess.run(
        [sys.executable, "-m", "inspections.cli", "topics", "create"], capture_output=True,
        text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "INSPECTIONS_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
             "INSPECTIONS_KAFKA_SASL_PASSWORD": "hunter2-secret", **extra})
    assert done.returncode == 2
    assert says in done.stderr
    assert "hunter2-secret" not in done.stdout + done.stderr


def test_a_client_certificate_needs_its_key():
    with pytest.raises(ValueError):
        Settings(kafka_ssl_certfile="client.pem")  # a certificate without its key


@pytest.mark.parametrize("host, token, allow_open, refused", [
    ("127.0.0.1", "", False, False),
    ("127.0.0.3", "", False, False),
    ("localhost", "", False, False),
    ("::1", "", False, False),
    ("0.0.0.0", "", False, True),
    ("", "", False, True),
    ("10.1.2.3", "", False, True),
    ("inspections.example", "", False, True),
    ("0.0.0.0", "s3cret", False, False),
    ("0.0.0.0", "", True, False),
])
def test_a_server_reachable_from_other_hosts_needs_a_token_or_to_be_told(
        host, token, allow_open, refused):
    settings = Settings(http_token=token, allow_open=allow_open)
    reason = webauth.open_refusal(settings, host, "the page")
    assert (reason is not None) is refused
    if refused:
        assert "INSPECTIONS_HTTP_TOKEN" in reason and "INSPECTIONS_ALLOW_OPEN=1" in reason


@pytest.mark.parametrize("command", [["run", "escalation"], ["operator"]])
def test_a_worker_or_the_page_bound_to_every_address_without_a_token_does_not_start(
        command, tmp_path):
    """Refused before it connects to anything (no broker here), saying what to do."""
    done = subprocess.run(
        [sys.executable, "-m", "inspections.cli", *command], capture_output=True, text=True,
        timeout=60, env={"PATH": "/usr/bin:/bin", "INSPECTIONS_WEB_HOST": "0.0.0.0",
                         "INSPECTIONS_HOME": str(tmp_path),
                         "INSPECTIONS_BOOTSTRAP_SERVERS": "127.0.0.1:1"})
    assert done.returncode != 0
    assert "without a token" in done.stderr and "INSPECTIONS_ALLOW_OPEN=1" in done.stderr


def test_a_worker_advertises_where_others_reach_it_never_a_wildcard(monkeypatch):
    import socket

    from runtime.faust_runner.app import advertised_url

    assert advertised_url(Settings(web_host="127.0.0.2"), 6068) == "http://127.0.0.2:6068"
    assert advertised_url(Settings(web_host="::1"), 6068) == "http://[::1]:6068"
    monkeypatch.setattr(socket, "gethostname", lambda: "replica-1")
    monkeypatch.setattr(socket, "gethostbyname",
                        lambda name: {"replica-1": "172.18.0.7"}[name])
    assert advertised_url(Settings(web_host="0.0.0.0"), 6068) == "http://172.18.0.7:6068"
    told = Settings(web_host="0.0.0.0", web_advertised_url="http://escalation-2.internal:80/")
    assert advertised_url(told, 6068) == "http://escalation-2.internal:80"
    with pytest.raises(ValueError):
        Settings(web_advertised_url="escalation-2:6068")  # no scheme
