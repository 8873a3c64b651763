"""Settings, read once from environment variables (prefix ``INSPECTIONS_``) or a ``.env`` file.

Every default that ``docs/domain.md`` names lives here too, as it is added, so that each one is a
setting and documented in one place (README, "Settings").
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kernel import capacity
from kernel.due import parse_within

PACKAGE_DIR = Path(__file__).resolve().parent
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Upper bounds of the numbers a city sets (here and in its policy file): a time limit of at
# most a (leap) year, a team of at most a hundred. Every number must be finite: NaN or
# infinity passed the checks and overflowed a deadline later.
MAX_LIMIT_H = 366 * 24
MAX_TEAM_SIZE = 100
# A time limit in hours: above 0 and at most a year.
LimitHours = Annotated[float, Field(gt=0, le=MAX_LIMIT_H, allow_inf_nan=False)]


def _default_home() -> Path:
    """``.local/`` of the checkout when run from one, else the user's state folder."""
    checkout = PACKAGE_DIR.parent
    if (checkout / "pyproject.toml").is_file():
        return checkout / ".local"
    return Path.home() / ".local" / "state" / "inspections"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="INSPECTIONS_", env_file=".env", extra="ignore", frozen=True
    )

    # Where the project keeps what it makes at run time: broker data, faust state, caches.
    home: Path = Field(default_factory=_default_home)

    # Topic names start with this ("inspections.events"): another prefix keeps a second
    # deployment (or a test) apart on one Kafka. App ids and consumer groups follow it.
    topic_prefix: str = Field(default="inspections", pattern=r"^[A-Za-z0-9_\-]+$")
    # App ids, consumer groups and changelog topics start with this; empty: the topic
    # prefix. Another one runs a second generation of the services over the same topics
    # with state of its own (benchmarks do).
    app_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9_\-]*$")

    # Kafka clients. Empty bootstrap means "the local broker" at broker_host:broker_port.
    bootstrap_servers: str = ""
    # How long a command waits for Kafka.
    kafka_timeout_s: float = Field(default=30.0, gt=0, le=3600, allow_inf_nan=False)
    partitions: int = Field(default=8, ge=1, le=1000)
    # Replicas of each project topic; 0: the local broker's nodes (at most 3), 1 against an
    # existing Kafka (INSPECTIONS_BOOTSTRAP_SERVERS).
    replication_factor: int = Field(default=0, ge=0, le=16)
    # How Kafka clients connect: TLS (SSL), SASL, or both; the local broker listens the same way.
    kafka_security_protocol: str = Field(
        default="PLAINTEXT", pattern="^(PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL)$")
    kafka_sasl_mechanism: str = Field(
        default="SCRAM-SHA-512", pattern="^(SCRAM-SHA-256|SCRAM-SHA-512|PLAIN)$")
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = SecretStr("")
    # PEM files: the CA that signed the brokers' certificates (empty: the system's), and a
    # client certificate and key for brokers that ask for one.
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    # How long a worker that stops answering (kill -9, a lost host) keeps its partitions
    # before the group moves them to another: Kafka's session.timeout.ms, in seconds.
    # At most Kafka's own default group.max.session.timeout.ms (30 minutes): brokers refuse more.
    group_session_timeout_s: float = Field(default=30.0, ge=6, le=1800, allow_inf_nan=False)

    # The local broker (`inspections broker ...`).
    broker_host: str = "127.0.0.1"
    broker_port: int = Field(default=9092, ge=1, le=65535)
    controller_port: int = Field(default=0, ge=0, le=65535)  # 0: broker_port + 1
    # The generation of a service's state a worker runs (runtime/faust_runner/generations.py): set
    # by `inspections run` (the live one) and `inspections rebuild` (the next), not by hand.
    generation: int = Field(default=0, ge=0, le=1_000_000)
    # Nodes of the local Kafka: 1, or a cluster on loopback (node i on the ports + 2(i-1)).
    broker_nodes: int = Field(default=1, ge=1, le=5)
    broker_heap: str = "512m"
    broker_start_timeout_s: float = Field(default=90.0, gt=0, le=3600, allow_inf_nan=False)
    java: str = "java"
    mvn: str = "mvn"
    maven_repo_local: Path | None = None  # None: Maven's own (~/.m2/repository)

    # Workers. Each table partition is a RocksDB database; all of a worker's share one budget
    # (block cache and memtables); each database's memtable is flushed at the write buffer size.
    rocksdb_memory_bytes: int = Field(default=64 * 2**20, ge=2**20, le=64 * 2**30)
    rocksdb_write_buffer_bytes: int = Field(default=4 * 2**20, ge=2**16, le=2**30)
    # A worker takes its records in batches, each state key then written once per batch: a
    # batch takes records while they keep coming, up to this many or this long.
    batch_max_records: int = Field(default=500, ge=1, le=100_000)
    batch_linger_ms: float = Field(default=100.0, gt=0, le=60_000, allow_inf_nan=False)
    # Decoded states a worker keeps in memory (least recently used go first).
    state_cache_entries: int = Field(default=2_000, ge=0, le=10_000_000)
    # A view asked ``?as_of=`` a past time: the log up to it is run in memory in the worker,
    # if it holds at most this many records (more: replay it); the last few times asked kept.
    as_of_max_records: int = Field(default=1_000_000, ge=0, le=100_000_000)
    as_of_kept: int = Field(default=2, ge=1, le=100)
    web_host: str = "127.0.0.1"
    web_port_base: int = Field(default=6066, ge=1, le=65500)
    # This worker's port; 0: the base and the service's place (a second worker of a service
    # on the same host needs a port of its own, and then keeps its state apart by it).
    web_port: int = Field(default=0, ge=0, le=65535)
    # Where the service's other workers reach this one (a view is forwarded to the worker
    # that owns its key); empty: http://<web host>:<port>, with this host's own address in
    # place of 0.0.0.0.
    web_advertised_url: str = Field(default="", pattern=r"^(https?://[^\s/?#]+/?)?$")
    # The workers of this deployment, comma-separated base URLs (a host name stands for every
    # address it resolves to: compose's service names): the only ones a worker asks in a
    # caller's stead, passing the caller's token on. Empty: loopback hosts on any port.
    web_peers: str = Field(
        default="", pattern=r"^\s*(https?://[^\s/?#,]+/?\s*(,\s*https?://[^\s/?#,]+/?\s*)*)?$")
    # When set, every HTTP view, /metrics and the operator page answer 401 unless the request
    # carries "Authorization: Bearer <token>" (/healthz and /readyz stay open for probes).
    http_token: SecretStr = SecretStr("")
    # A worker or the operator page bound to an address other hosts reach refuses to start
    # without a token, unless this says the network in between is trusted.
    allow_open: bool = False
    # People sign in to the operator page with the accounts of this file (`inspections
    # accounts`); none: the page is read-only, guarded by the token alone. Empty: <home>/accounts.yaml.
    accounts_file: Path | None = None
    # Signs the page's session cookies and form tokens; empty: a new secret at each start of
    # the page (everyone signs in again then). Set it when several page processes share users.
    session_secret: SecretStr = SecretStr("")
    session_hours: float = Field(default=8.0, gt=0, le=720, allow_inf_nan=False)
    # Failed sign-ins allowed per account and per client address in 15 minutes; then 429.
    signin_attempts: int = Field(default=5, ge=1, le=1000)
    # Single sign-on: a reverse proxy that signs people in names the account in this header
    # (e.g. X-Remote-User); honoured only on requests from the proxy's address. Both or none.
    trusted_header: str = Field(default="", pattern=r"^([A-Za-z0-9-]{1,64})?$")
    trusted_proxy: str = ""
    # Where the operator page finds each service's views; empty: this host, its port.
    scheduler_url: str = ""
    findings_url: str = ""
    escalation_url: str = ""
    # `inspections ingest`, upstream systems publishing over HTTP: its port (0: the base + 5)
    # and the largest request it takes (one event, or a batch of up to 1,000).
    ingest_port: int = Field(default=0, ge=0, le=65535)
    ingest_max_bytes: int = Field(default=4 * 2**20, ge=2**10, le=64 * 2**20)
    # Where the operator page answers, for `inspections queue` and `inspections act`; empty:
    # this host, its port (after the services').
    operator_url: str = ""
    # Every service in one worker process (``inspections run all``): where it serves, each
    # service's views under /<service>; set, it stands in for the three URLs above (empty:
    # each service's own worker).
    all_url: str = ""
    # The operator page's "due soon" board: obligations due within this of each service's
    # stream time (a number and m, h, d or w).
    due_soon_within: str = "48h"
    # `inspections notify`: the directory of who is who (YAML): with it, notify also posts a
    # notice when an obligation becomes someone's and a reminder before it falls due.
    directory_file: Path | None = None
    # `inspections notify`: where Alertmanager takes alerts, and how long it holds a breach's
    # alert (a second post within it is the same alert; its end is no "resolved"): at most a
    # day, below the breaches' route's repeat interval (deploy/alertmanager), so sent once.
    alertmanager_url: str = "http://127.0.0.1:9093"
    alert_hold_s: float = Field(default=3600, gt=0, le=86400, allow_inf_nan=False)
    # The operator page reloads itself this often (a meta refresh, no script); 0: never.
    page_refresh_s: int = Field(default=30, ge=0, le=86400)
    # Replay and audit verify: processes sharing the inbound topic's partitions (0: a core each).
    replay_workers: int = Field(default=0, ge=0, le=256)
    # How often a worker computes its consumer lag and the gauges counted from its tables.
    metrics_interval_s: float = Field(default=5.0, gt=0, le=3600, allow_inf_nan=False)
    # How long a worker's graceful stop (SIGTERM, SIGINT) may take: after this its watchdog
    # logs what it still waited for and ends it (exit 70), never in the middle of a batch's
    # state writes. Below an orchestrator's grace period (30 s) before its SIGKILL.
    shutdown_timeout_s: float = Field(default=25.0, gt=0, le=3600, allow_inf_nan=False)

    # The gate refuses an event dated more than this ahead of its partition's clock (the
    # later of the newest event time the partition has accepted and the record's append
    # time): one mistyped year cannot move a partition's stream time and breach every unit
    # on it. A deployment that publishes a whole future year at once (a simulation of next
    # year's campaign) raises it, e.g. 400d.
    max_time_ahead: str = "48h"

    # The campaign's time zone: days on site, month ends and midnights are counted in it.
    timezone: str = "Asia/Shanghai"
    # Clock publisher: a clock.ticked to every partition this often (seconds); 0 turns it off.
    clock_interval_s: float = Field(default=60.0, ge=0, le=86400, allow_inf_nan=False)
    # When the log holds no adopted policy, the scheduler's leader adopts its starting one.
    adopt_starting_policy: bool = True
    # `inspections simulate`: simulated days per second of wall time (0: as fast as it can).
    simulate_days_per_second: float = Field(default=3.0, ge=0, le=3650, allow_inf_nan=False)

    # What a visit must reach (docs/domain.md); shares in percent, boundaries inclusive.
    county_min_days: int = Field(default=10, ge=0, le=366)
    county_township_share: float = Field(default=60, ge=0, le=100, allow_inf_nan=False)
    county_department_share: float = Field(default=50, ge=0, le=100, allow_inf_nan=False)
    county_min_enterprises: int = Field(default=10, ge=0, le=capacity.SITES)
    zone_min_days: int = Field(default=6, ge=0, le=366)
    zone_min_communities: int = Field(default=4, ge=0, le=capacity.SITES)
    zone_department_share: float = Field(default=60, ge=0, le=100, allow_inf_nan=False)
    zone_min_enterprises: int = Field(default=8, ge=0, le=capacity.SITES)
    team_min_size: int = Field(default=6, ge=1, le=MAX_TEAM_SIZE)
    team_max_size: int = Field(default=10, ge=1, le=MAX_TEAM_SIZE)
    team_min_experts: int = Field(default=1, ge=0, le=MAX_TEAM_SIZE)  # 成员含专家
    rectification_report_months: int = Field(default=2, ge=1, le=12)

    # The city's policy as data (runtime/config/policy.py): the escalation ladder, each action's
    # authority, closing event and limit, the team rule; a YAML file overlaying the defaults.
    policy_file: Path | None = None

    # Findings: a general finding without evidence or advice is a breach (off: recorded only).
    general_evidence_rule: bool = True
    # After-care: a pending or reopened finding is followed up within these calendar months of
    # the report or check that left it so (0: no follow-up owed).
    follow_up_months: int = Field(default=2, ge=0, le=12)
    # Each unit whose rectification report arrived (or fell due) is named in a status report to
    # the city government within these calendar months (0: not judged).
    status_report_months: int = Field(default=1, ge=0, le=12)

    # Escalation limits, in hours (docs/domain.md): each action's first limit, and the fresh limit
    # after a level-up, counted from the due time that was missed.
    limit_issue_enforcement_document_h: LimitHours = 24
    limit_report_major_hazard_h: LimitHours = 24
    limit_request_instructions_h: LimitHours = 24
    limit_report_misconduct_clue_h: LimitHours = 24
    limit_transfer_for_investigation_h: LimitHours = 72
    limit_take_immediate_measures_h: LimitHours = 24
    limit_recommend_listed_supervision_h: LimitHours = 72
    escalation_level_up_h: LimitHours = 24
    # Notices: a reminder to whoever owes an open obligation this long before it falls due.
    reminder_before_h: LimitHours = 4

    # Logs: "auto" is readable console output on a terminal, JSON otherwise.
    log_level: str = "INFO"
    log_format: str = Field(default="auto", pattern="^(auto|json|console)$")

    # The local broker's TLS certificate and key (PEM), when it listens with SSL or SASL_SSL.
    broker_ssl_certfile: Path | None = None
    broker_ssl_keyfile: Path | None = None

    @model_validator(mode="after")
    def _security_is_complete(self) -> "Settings":
        if "SASL" in self.kafka_security_protocol and not (
                self.kafka_sasl_username and self.kafka_sasl_password.get_secret_value()):
            raise ValueError(
                f"INSPECTIONS_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                "INSPECTIONS_KAFKA_SASL_USERNAME and INSPECTIONS_KAFKA_SASL_PASSWORD")
        if bool(self.kafka_ssl_certfile) != bool(self.kafka_ssl_keyfile):
            raise ValueError("INSPECTIONS_KAFKA_SSL_CERTFILE and INSPECTIONS_KAFKA_SSL_KEYFILE "
                             "go together (a client certificate and its key)")
        if bool(self.trusted_header) != bool(self.trusted_proxy.strip()):
            raise ValueError("INSPECTIONS_TRUSTED_HEADER and INSPECTIONS_TRUSTED_PROXY go "
                             "together: the header is believed only from the proxy's address")
        for name in ("due_soon_within", "max_time_ahead"):
            try:
                parse_within(getattr(self, name))
            except ValueError as exc:
                raise ValueError(f"INSPECTIONS_{name.upper()}: "
                                 f"{str(exc).replace('due_within', 'a span')}") from None
        return self

    @property
    def local_web_host(self) -> str:
        """Where a client on this host reaches what serves on ``web_host`` (127.0.0.1 for
        every address)."""
        return "127.0.0.1" if self.web_host in ("0.0.0.0", "") else self.web_host

    @property
    def time_ahead_limit(self):
        """``max_time_ahead`` as a timedelta."""
        return parse_within(self.max_time_ahead)

    @field_validator("timezone")
    @classmethod
    def _a_known_time_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}: an IANA name such as "
                             "Asia/Shanghai") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _a_log_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"unknown log level {value!r}: one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @property
    def uses_tls(self) -> bool:
        return self.kafka_security_protocol in ("SSL", "SASL_SSL")

    @property
    def bootstrap(self) -> str:
        return self.bootstrap_servers or ",".join(
            f"{self.broker_host}:{self.broker_port + 2 * i}" for i in range(self.broker_nodes))

    @property
    def replicas(self) -> int:
        """Replicas of each project topic (``replication_factor``, or its default)."""
        if self.replication_factor:
            return self.replication_factor
        return 1 if self.bootstrap_servers else min(3, self.broker_nodes)

    @property
    def min_insync(self) -> int:
        """Replicas a write waits for (acks=all): 2 of 3 or more, so one node may be down."""
        return 2 if self.replicas >= 3 else 1

    @property
    def broker_controller_port(self) -> int:
        return self.controller_port or self.broker_port + 1

    @property
    def broker_dir(self) -> Path:
        """One folder per local broker port, so that tests can run their own beside a user's."""
        return self.home / "kafka" / str(self.broker_port)

    def app_id(self, service: str) -> str:
        """The service's consumer group (and its changelogs' prefix), per generation."""
        base = f"{self.app_prefix or self.topic_prefix}-{service}"
        return f"{base}-g{self.generation}" if self.generation else base

    @property
    def state_dir(self) -> Path:
        return self.home / "state"


def unknown_names(environ: dict[str, str], env_file: str | Path | None = None) -> list[
        tuple[str, str]]:
    """Variables that look like settings and are none (a misspelling), each with where it was
    found ("" for the environment, " (.env, line N)" for the ``.env`` file the settings read):
    names are matched as the settings match them, whatever their case, so
    ``inspections_timezon`` is one too."""
    known = {f"INSPECTIONS_{name.upper()}" for name in Settings.model_fields} | {
        "INSPECTIONS_FAULTS"}  # the fault suite's length (`make faults`), not a setting

    def unknown(name: str) -> bool:
        return name.upper().startswith("INSPECTIONS_") and name.upper() not in known

    found = [(name, "") for name in sorted(environ) if unknown(name)]
    path = Path(env_file or Settings.model_config["env_file"])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):  # none (or unreadable: the settings say so)
        return found
    import io

    from dotenv.parser import parse_stream  # pydantic-settings' own reader of .env

    for binding in parse_stream(io.StringIO(text)):
        if binding.key and unknown(binding.key):
            before = binding.original.string[:binding.original.string.find(binding.key)]
            line = binding.original.line + before.count("\n")  # blank lines come with it
            found.append((binding.key, f" ({path}, line {line})"))
    return found


def load() -> Settings:
    """The settings, or exit 2 saying which setting is wrong and why (never echoing a value:
    pydantic's own message would show every input, passwords too)."""
    import os
    import sys

    from pydantic import ValidationError

    for name, where in unknown_names(dict(os.environ)):
        print(f"warning: {name}{where} is not a setting (misspelt?); it is ignored",
              file=sys.stderr)
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            name = f"INSPECTIONS_{where.upper()}: " if where else ""
            message = error["msg"].removeprefix("Value error, ")
            print(f"error: setting {name}{message}", file=sys.stderr)
        raise SystemExit(2) from None
    return settings
