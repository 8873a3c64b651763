"""docker-compose.yml, checked without a Docker engine."""

from __future__ import annotations

import typer.main
import yaml

import services
from inspections.cli.main import app
from inspections.localkafka import kafka_version
from tests.conftest import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_every_service_has_an_image_or_a_build_context():
    assert COMPOSE["services"]
    for name, service in COMPOSE["services"].items():
        assert service.get("image") or service.get("build"), name
        build = service.get("build")
        if build:
            context = build if isinstance(build, str) else build.get("context", ".")
            assert (REPO / context / "Dockerfile").is_file(), name


def test_the_kafka_image_is_the_release_the_pom_pins():
    assert COMPOSE["services"]["kafka"]["image"] == f"apache/kafka:{kafka_version()}"


def test_depends_on_names_real_services():
    for name, service in COMPOSE["services"].items():
        for needed in service.get("depends_on", {}):
            assert needed in COMPOSE["services"], (name, needed)


def test_each_app_command_is_a_real_inspections_command():
    cli = typer.main.get_command(app)
    for name, service in COMPOSE["services"].items():
        if service.get("image") != "inspections:local":
            continue
        if "entrypoint" in service:  # a module of the image run on its own: it must import
            module = service["entrypoint"][service["entrypoint"].index("-m") + 1]
            assert callable(getattr(__import__(module, fromlist=["main"]), "main")), name
            continue
        words = service["command"]
        command = cli
        for word in words:
            if not hasattr(command, "commands"):
                break
            assert word in command.commands, (name, words)
            command = command.commands[word]
        if words[0] == "run":
            assert words[1] in {s.name for s in services.SYSTEM}, (name, words)


def test_the_app_talks_to_the_compose_broker():
    kafka = COMPOSE["services"]["kafka"]["environment"]
    internal = next(
        part.split("//")[1]
        for part in kafka["KAFKA_ADVERTISED_LISTENERS"].split(",")
        if part.startswith("INTERNAL://")
    )
    scheduler = COMPOSE["services"]["scheduler"]["environment"]
    assert scheduler["INSPECTIONS_BOOTSTRAP_SERVERS"] == internal


WORKERS = ("scheduler", "findings", "escalation")
PROMETHEUS = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())


def _cli_path_exists(words: list[str]) -> bool:
    command = typer.main.get_command(app)
    for word in words:
        if not hasattr(command, "commands"):
            return True
        if word not in command.commands:
            return False
        command = command.commands[word]
    return True


def _host_ports(published: str) -> range:
    """The host ports of a ``127.0.0.1:HOST[-LAST]:CONTAINER`` entry."""
    host = published.split(":")[1]
    first, _, last = host.partition("-")
    return range(int(first), int(last or first) + 1)


def test_each_worker_publishes_the_port_it_serves_on_from_a_range_of_host_ports():
    """`docker compose up --scale escalation=2`: each replica takes a host port of the
    range (a fixed host port would clash)."""
    from runtime.config.settings import Settings
    from runtime.faust_runner.app import web_port

    settings = Settings()
    for name in WORKERS:
        port = web_port(settings, name)
        [published] = COMPOSE["services"][name]["ports"]
        assert published.rsplit(":", 1)[1] == str(port), name
        assert len(_host_ports(published)) >= 2, name
        assert "container_name" not in COMPOSE["services"][name], name


def test_scaled_workers_keep_their_state_apart_and_advertise_their_own_address():
    """No named volume (replicas would share one RocksDB folder): the image's volume, one a
    container. No advertised URL fixed: each replica's is its own address."""
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "VOLUME /var/lib/inspections" in dockerfile
    for name in WORKERS:
        service = COMPOSE["services"][name]
        # Only read-only files (the policy): the state stays in the image's volume.
        assert all(v.startswith("./") and v.endswith(":ro") for v in service.get("volumes", ())), \
            name
        assert "INSPECTIONS_WEB_ADVERTISED_URL" not in service["environment"], name


def test_every_app_service_is_told_its_network_is_trusted_or_given_a_token():
    for name, service in COMPOSE["services"].items():
        if service.get("image") != "inspections:local" or "entrypoint" in service:
            continue
        env = service["environment"]
        assert env.get("INSPECTIONS_ALLOW_OPEN") == "1" or env.get("INSPECTIONS_HTTP_TOKEN"), \
            name


def test_the_workers_healthcheck_asks_their_readiness():
    for name in WORKERS:
        test = COMPOSE["services"][name]["healthcheck"]["test"]
        assert test[:2] == ["CMD", "inspections"], name
        assert test[2:] == ["ready", name]
        assert _cli_path_exists(test[2:])


def test_named_volumes_are_declared_and_bind_mounts_exist_in_the_repo():
    declared = set(COMPOSE["volumes"])
    used = set()
    for name, service in COMPOSE["services"].items():
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            assert target.startswith("/"), (name, volume)
            if source.startswith("."):
                assert (REPO / source).exists(), (name, source)
            else:
                used.add(source)
                assert source in declared, (name, source)
    assert used == declared  # none declared for nothing


def test_published_host_ports_are_distinct():
    published = [port for s in COMPOSE["services"].values()
                 for p in s.get("ports", []) for port in _host_ports(p)]
    assert len(published) == len(set(published))


def test_prometheus_scrapes_every_replica_of_each_worker_at_its_compose_name_and_port():
    [job] = PROMETHEUS["scrape_configs"]
    found = {name: c["port"] for c in job["dns_sd_configs"] for name in c["names"]
             if c["type"] == "A"}
    for name in WORKERS:
        assert str(found.get(name)) == COMPOSE["services"][name]["ports"][0].rsplit(":", 1)[1]
    assert {"source_labels": ["__meta_dns_name"], "target_label": "service"} in \
        job["relabel_configs"]


def test_prometheus_gets_its_config_and_every_rule_file_it_names():
    prometheus = COMPOSE["services"]["prometheus"]
    mounts = dict(v.split(":")[:2] for v in prometheus["volumes"])
    config = next(t for t in prometheus["command"] if t.startswith("--config.file="))
    config_path = config.split("=", 1)[1]
    assert mounts["./deploy/prometheus/prometheus.yml"] == config_path
    folder = config_path.rsplit("/", 1)[0]
    for rule_file in PROMETHEUS["rule_files"]:
        assert mounts[f"./deploy/prometheus/{rule_file}"] == f"{folder}/{rule_file}"


def test_grafana_reads_the_dashboards_where_they_are_mounted():
    grafana = COMPOSE["services"]["grafana"]
    mounts = dict(v.split(":")[:2] for v in grafana["volumes"])
    provider = yaml.safe_load(
        (REPO / "deploy/grafana/provisioning/dashboards/inspections.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    assert mounts["./deploy/grafana/dashboards"] == path
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(path + "/")
    assert (REPO / "deploy/grafana/dashboards" / home.rsplit("/", 1)[1]).is_file()
    source = yaml.safe_load(
        (REPO / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    url = source["datasources"][0]["url"]
    assert url == f"http://prometheus:{COMPOSE['services']['prometheus']['ports'][0].rsplit(':', 1)[1]}"


def test_the_dockerfile_copies_what_exists_and_its_entry_point_is_installed():
    import re
    import tomllib

    dockerfile = (REPO / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY ") and "--from=" not in line:  # not another stage's
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), source
    entry = re.search(r'^ENTRYPOINT \["([^"]+)"\]', dockerfile, re.M).group(1)
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert entry in scripts
    module, function = scripts[entry].split(":")
    assert callable(getattr(__import__(module, fromlist=[function]), function))


def test_the_operator_page_reaches_each_service_at_its_compose_name():
    from inspections.page.sources import Views
    from runtime.config.settings import Settings

    operator = COMPOSE["services"]["operator"]
    env = {k.removeprefix("INSPECTIONS_").lower(): v for k, v in operator["environment"].items()}
    views = Views(Settings(**{k: v for k, v in env.items() if k.endswith("_url")}))
    for name in WORKERS:
        port = COMPOSE["services"][name]["ports"][0].rsplit(":", 1)[1]
        assert views.base[name] == f"http://{name}:{port}"
    assert operator["command"] == ["operator"] and _cli_path_exists(["operator"])


def test_the_image_holds_every_package_the_project_installs():
    import tomllib

    dockerfile = (REPO / "Dockerfile").read_text()
    copied = {line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY ")}
    found = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"]["find"]["include"]
    for package in (p.rstrip("*") for p in found):
        assert package in copied, f"the Dockerfile does not COPY {package}/"


ALERTMANAGER = yaml.safe_load((REPO / "deploy/alertmanager/alertmanager.yml").read_text())


def _port(service: str) -> str:
    return COMPOSE["services"][service]["ports"][0].rsplit(":", 1)[1]


def test_alerts_flow_from_prometheus_and_notify_to_alertmanager_to_the_receiver():
    targets = [t for a in PROMETHEUS["alerting"]["alertmanagers"]
               for group in a["static_configs"] for t in group["targets"]]
    assert targets == [f"alertmanager:{_port('alertmanager')}"]
    notify = COMPOSE["services"]["notify"]
    assert notify["command"] == ["notify"] and _cli_path_exists(["notify"])
    env = notify["environment"]
    assert env["INSPECTIONS_ALERTMANAGER_URL"] == f"http://alertmanager:{_port('alertmanager')}"
    assert env["INSPECTIONS_ESCALATION_URL"] == f"http://escalation:{_port('escalation')}"
    receiver = COMPOSE["services"]["alert-receiver"]
    port = receiver["command"][receiver["command"].index("--port") + 1]
    urls = {w["url"] for r in ALERTMANAGER["receivers"] for w in r["webhook_configs"]}
    assert urls == {f"http://alert-receiver:{port}/alerts"}
    assert receiver["entrypoint"][-1] == "inspections.alerting.receiver"
    mounts = dict(v.split(":")[:2] for v in COMPOSE["services"]["alertmanager"]["volumes"])
    config = next(c for c in COMPOSE["services"]["alertmanager"]["command"]
                  if c.startswith("--config.file="))
    assert mounts["./deploy/alertmanager/alertmanager.yml"] == config.split("=", 1)[1]


def test_alerts_are_grouped_by_unit_authority_and_escalation():
    assert {"unit", "authority", "escalation_id"} <= set(ALERTMANAGER["route"]["group_by"])


def test_every_port_is_published_on_loopback_only():
    for name, service in COMPOSE["services"].items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:") and port.count(":") == 2, (name, port)


def test_grafana_has_no_anonymous_access_and_its_password_comes_from_the_environment():
    env = COMPOSE["services"]["grafana"]["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert "GF_AUTH_ANONYMOUS_ORG_ROLE" not in env
    assert env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")


def test_the_image_runs_as_a_user_of_its_own():
    dockerfile = (REPO / "Dockerfile").read_text()
    users = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert f"useradd --system --uid 10001 --home-dir /var/lib/inspections {users[-1]}" in \
        dockerfile


def _merged(base: dict, override: dict) -> dict:
    """``docker compose -f base -f override``: maps merged key by key, ports added."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        elif key == "ports" and key in out:
            out[key] = out[key] + value
        else:
            out[key] = value
    return out


CLUSTER = _merged(COMPOSE, yaml.safe_load((REPO / "docker-compose.cluster.yml").read_text()))


def test_the_cluster_variant_runs_three_voting_nodes_of_the_pinned_image():
    nodes = {name: s for name, s in CLUSTER["services"].items()
             if s.get("image", "").startswith("apache/kafka:")}
    assert len(nodes) == 3
    assert {s["image"] for s in nodes.values()} == {COMPOSE["services"]["kafka"]["image"]}
    ids = {name: s["environment"]["KAFKA_NODE_ID"] for name, s in nodes.items()}
    assert sorted(ids.values()) == [1, 2, 3]
    voters = {f"{ids[name]}@{name}:9093" for name in nodes}
    for name, node in nodes.items():
        env = node["environment"]
        assert set(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == voters, name
        assert f"INTERNAL://{name}:19092" in env["KAFKA_ADVERTISED_LISTENERS"], name
        assert node.get("hostname", name) == name
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 3
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == 2
        assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == 2
    data = [v.split(":")[0] for s in nodes.values() for v in s["volumes"]]
    assert len(set(data)) == 3 and set(data) <= set(CLUSTER["volumes"])


def test_in_the_cluster_variant_every_client_knows_every_node_and_asks_for_three_replicas():
    internal = sorted(f"{name}:19092" for name, s in CLUSTER["services"].items()
                      if s.get("image", "").startswith("apache/kafka:"))
    for name, service in CLUSTER["services"].items():
        if service.get("image") != "inspections:local" or "entrypoint" in service:
            continue
        env = service["environment"]
        assert sorted(env["INSPECTIONS_BOOTSTRAP_SERVERS"].split(",")) == internal, name
        assert env["INSPECTIONS_REPLICATION_FACTOR"] == "3", name
    published = [p for s in CLUSTER["services"].values() for p in s.get("ports", [])]
    assert all(p.startswith("127.0.0.1:") for p in published)
    hosts = [port for p in published for port in _host_ports(p)]
    assert len(hosts) == len(set(hosts))


# -- docker-compose.all.yml: every service in one worker process, over docker-compose.yml --------
class _Override:
    """A value tagged ``!override``: it replaces the base file's instead of merging."""

    def __init__(self, value) -> None:
        self.value = value


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!override", lambda loader, node: _Override(
    loader.construct_sequence(node, deep=True) if isinstance(node, yaml.SequenceNode)
    else loader.construct_mapping(node, deep=True)))


def _merged(base, over):
    """Compose's merge of an override file: mappings merged key by key, sequences appended
    (``depends_on``: as names), a ``!override`` value put in place of the base's."""
    if isinstance(over, _Override):
        return over.value
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{k: _merged(base.get(k), v) for k, v in over.items()}}
    if isinstance(base, (list, dict)) and isinstance(over, list):
        return [*base, *(v for v in over if v not in base)]
    return over


ALL_FILE = yaml.load((REPO / "docker-compose.all.yml").read_text(), Loader=_Loader)
ALL = {name: service for name, service in _merged(COMPOSE, ALL_FILE)["services"].items()
       if not service.get("profiles")}  # what `docker compose -f ... -f ... up` starts


def test_the_all_in_one_variant_starts_one_worker_of_every_service_and_none_of_the_three():
    assert "all" in ALL and not set(WORKERS) & set(ALL)
    assert ALL["all"]["command"] == ["run", "all"] and "all" in services.RUNNABLE
    for name, service in ALL.items():
        for needed in service.get("depends_on", {}):
            assert needed in ALL, (name, needed)  # none waits for a worker not started


def test_the_all_in_one_worker_is_configured_as_the_three_are():
    from runtime.config.settings import Settings
    from runtime.faust_runner.app import web_port

    worker, scheduler = ALL["all"], COMPOSE["services"]["scheduler"]
    port = web_port(Settings(), "all")
    [published] = worker["ports"]
    assert published.rsplit(":", 1)[1] == str(port) and len(_host_ports(published)) >= 2
    assert worker["healthcheck"]["test"] == ["CMD", "inspections", "ready", "all"]
    assert worker["image"] == scheduler["image"] and worker["build"] == scheduler["build"]
    env = worker["environment"]
    for name in ("INSPECTIONS_BOOTSTRAP_SERVERS", "INSPECTIONS_ALLOW_OPEN"):
        assert env[name] == scheduler["environment"][name], name
    assert env["INSPECTIONS_WEB_PEERS"] == f"http://all:{port}"
    assert worker["stop_grace_period"] == scheduler["stop_grace_period"]
    published = [p for s in ALL.values() for ports in s.get("ports", [])
                 for p in _host_ports(ports)]
    assert len(published) == len(set(published))


def test_the_page_notices_and_prometheus_find_the_all_in_one_worker():
    from runtime.config.settings import Settings
    from runtime.faust_runner.app import web_port

    url = f"http://all:{web_port(Settings(), 'all')}"
    for name in ("operator", "notify"):
        env = ALL[name]["environment"]
        assert env["INSPECTIONS_ALL_URL"] == url, name
        # A service's own URL goes before INSPECTIONS_ALL_URL: none is left set.
        assert not any(env.get(f"INSPECTIONS_{s.upper()}_URL") for s in WORKERS), name
    [job] = PROMETHEUS["scrape_configs"]
    found = {name: c["port"] for c in job["dns_sd_configs"] for name in c["names"]}
    assert found["all"] == web_port(Settings(), "all")


def test_the_installed_package_holds_every_data_file_the_code_reads():
    """The image installs the project (not an editable checkout): every file beside the code
    that is no Python (the catalogue, templates, scenarios, the contract's documents) must be
    package data, or the image fails where the checkout works."""
    import fnmatch
    import tomllib

    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]
    for package in ("kernel", "schemas", "runtime", "services", "inspections"):
        root = REPO / package
        for path in root.rglob("*"):
            if path.is_dir() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts \
                    or path.name == "README.md":
                continue
            relative = path.relative_to(root).as_posix()
            assert any(fnmatch.fnmatch(relative, pattern)
                       for pattern in declared.get(package, ())), (package, relative)


# -- the policy file and the image ------------------------------------------------------------
POLICY_MOUNT = "./deploy/policy.yaml:/etc/inspections/policy.yaml:ro"


def test_every_app_service_mounts_the_policy_file_it_is_told_of():
    apps = {n: s for n, s in COMPOSE["services"].items() if s.get("image") == "inspections:local"}
    apps["all"] = ALL_FILE["services"]["all"]
    for name, service in apps.items():
        assert service["environment"]["INSPECTIONS_POLICY_FILE"] == "/etc/inspections/policy.yaml", name
        assert POLICY_MOUNT in service["volumes"], name
    assert (REPO / "deploy" / "policy.yaml").is_file()


def test_the_image_builds_its_dependencies_apart_runs_unprivileged_and_checks_its_health():
    lines = [line.strip() for line in (REPO / "Dockerfile").read_text().splitlines()]
    stages = [i for i, line in enumerate(lines) if line.startswith("FROM ")]
    assert len(stages) == 2 and lines[stages[0]].endswith(" AS build")
    installs = [i for i, line in enumerate(lines) if "pip install" in line]
    first_code = min(i for i, line in enumerate(lines) if line.startswith("COPY kernel"))
    assert installs[0] < first_code < installs[-1]  # the dependencies' layer before the code
    assert "--no-deps" in lines[installs[-1]]
    healthcheck = next(line for line in lines if line.startswith("CMD [") or "HEALTHCHECK" in line)
    assert healthcheck.startswith("HEALTHCHECK")
    assert any('"/opt/healthcheck.py"' in line for line in lines)
    assert "COPY deploy/healthcheck.py /opt/healthcheck.py" in lines
    assert lines[-2] == "USER inspections" and lines[-1] == 'ENTRYPOINT ["inspections"]'


def test_the_health_check_passes_while_a_server_answers_healthz_and_fails_after(tmp_path):
    import http.server
    import os
    import subprocess
    import sys
    import threading

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def check(**env) -> int:
        return subprocess.run([sys.executable, str(REPO / "deploy" / "healthcheck.py")],
                              env={**os.environ, **env}, timeout=60).returncode

    try:
        assert check(INSPECTIONS_WEB_PORT=str(port)) == 0
        assert check(INSPECTIONS_WEB_PORT_BASE=str(port - 3)) == 0  # the page's place
    finally:
        server.shutdown()
        server.server_close()
    assert check(INSPECTIONS_WEB_PORT=str(port)) == 1
