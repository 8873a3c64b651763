from __future__ import annotations

from pathlib import Path

from kernel.codec import dumps
from kernel.ids import derived_id
from kernel.vocabulary import SERVICES
from runtime.config.settings import Settings
from runtime.faust_runner.app import web_port


def test_canonical_json_is_the_same_bytes_for_the_same_content():
    assert dumps({"b": 1, "a": "巡查"}) == dumps({"a": "巡查", "b": 1})
    assert dumps({"a": "巡查"}) == '{"a":"巡查"}'.encode()


def test_derived_ids_follow_their_cause():
    assert derived_id("e-1", "rule") == derived_id("e-1", "rule")
    assert derived_id("e-1", "rule") != derived_id("e-1", "other")
    assert derived_id("a", "bc") != derived_id("ab", "c")


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("INSPECTIONS_HOME", str(tmp_path))
    monkeypatch.setenv("INSPECTIONS_BROKER_PORT", "19092")
    monkeypatch.setenv("INSPECTIONS_PARTITIONS", "4")
    s = Settings()
    assert s.bootstrap == "127.0.0.1:19092"
    assert s.broker_controller_port == 19093
    assert s.broker_dir == Path(tmp_path) / "kafka" / "19092"
    assert s.partitions == 4
    monkeypatch.setenv("INSPECTIONS_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    assert Settings().bootstrap == "kafka-1:9092,kafka-2:9092"


def test_each_service_has_its_own_web_port_and_so_has_a_worker_of_all_and_the_page():
    from inspections.page.server import port

    s = Settings()
    ports = [web_port(s, name) for name in (*SERVICES, "all")] + [port(s)]
    assert len(set(ports)) == len(SERVICES) + 2


def test_evolve_is_dataclasses_replace_for_the_cores_frozen_states():
    import dataclasses

    import pytest

    from kernel.deadlines import Deadline
    from kernel.frozen import evolve
    from services.scheduler.rules import UnitState

    state = UnitState(unit_id="changtai")
    for obj, changes in ((state, {"unit_id": "pinghe"}),
                         (Deadline(datetime_at(1), "d", "k"), {"due": datetime_at(2)})):
        copy = evolve(obj, **changes)
        assert copy == dataclasses.replace(obj, **changes) and copy is not obj
        assert obj == type(obj)(**{f.name: getattr(obj, f.name)
                                   for f in dataclasses.fields(obj)})  # left as it was
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(copy, next(iter(changes)), None)
    with pytest.raises(TypeError, match="no field 'visit'"):
        evolve(state, visit=1)


def datetime_at(hour: int):
    from datetime import datetime

    return datetime.fromisoformat(f"2026-04-20T{hour:02d}:00:00+08:00")


def test_a_workers_tables_share_one_rocksdb_budget(monkeypatch, tmp_path):
    from runtime.faust_runner import rocks
    from runtime.faust_runner.app import make_app, table

    monkeypatch.setenv("INSPECTIONS_HOME", str(tmp_path))
    monkeypatch.setenv("INSPECTIONS_ROCKSDB_MEMORY_BYTES", str(16 * 2**20))
    settings = Settings()
    app = make_app("scheduler", settings)
    stores = [table(app, settings, name).data for name in ("state", "side")]
    assert all(isinstance(s, rocks.Store) for s in stores)
    assert {s.rocksdb_options.memory_bytes for s in stores} == {16 * 2**20}

    # Two databases' memtables are charged to the one write buffer manager, and it to the
    # one cache.
    cache, writes = rocks.budget(16 * 2**20)
    before = writes.get_usage()
    dbs = [stores[i].rocksdb_options.open(tmp_path / f"db{i}") for i in range(2)]
    for db in dbs:
        for k in range(5_000):
            db[f"key-{k}".encode()] = b"x" * 200
    after_both = writes.get_usage()
    assert after_both > before
    assert cache.get_usage() >= after_both
    for db in dbs:
        db.close()


def test_derived_ids_are_uuid5_of_the_cause():
    import uuid

    from hypothesis import given
    from hypothesis import strategies as st

    from kernel.ids import NAMESPACE

    @given(st.lists(st.text(), min_size=1, max_size=4))
    def check(cause):
        assert derived_id(*cause) == str(uuid.uuid5(NAMESPACE, "\x1f".join(cause)))

    check()


def test_settings_name_a_misspelt_variable_and_refuse_a_bad_zone_or_log_level():
    import subprocess
    import sys

    from tests.conftest import REPO

    def load(**env):
        import os

        clean = {k: v for k, v in os.environ.items() if not k.startswith("INSPECTIONS_")}
        return subprocess.run([sys.executable, "-c", "from runtime.config import settings; "
                               "print(settings.load().timezone)"], cwd=REPO,
                              env={**clean, **env}, capture_output=True, text=True)

    done = load(INSPECTIONS_TIMEZON="Asia/Tokyo")
    assert done.returncode == 0 and done.stdout.strip() == "Asia/Shanghai"
    assert "INSPECTIONS_TIMEZON is not a setting" in done.stderr
    done = load(INSPECTIONS_TIMEZONE="Mars/Olympus")
    assert done.returncode == 2
    assert "INSPECTIONS_TIMEZONE: unknown time zone 'Mars/Olympus'" in done.stderr
    done = load(INSPECTIONS_LOG_LEVEL="loud")
    assert done.returncode == 2 and "INSPECTIONS_LOG_LEVEL: unknown log level" in done.stderr
    assert load(INSPECTIONS_LOG_LEVEL="debug").returncode == 0


def test_maven_resolves_the_broker_with_checksums_enforced(tmp_path, monkeypatch):
    """The one Maven command the project runs refuses a jar whose checksum is wrong."""
    import subprocess

    import pytest

    from inspections import localkafka
    from runtime.config.settings import Settings

    ran = []

    def run(cmd, **kw):
        ran.append(cmd)
        return subprocess.CompletedProcess(cmd, 1, "", "checksum failed")

    monkeypatch.setattr(localkafka.subprocess, "run", run)
    broker = localkafka.LocalBroker(Settings(home=tmp_path), say=lambda m: None)
    with pytest.raises(localkafka.BrokerError, match="could not resolve"):
        broker.classpath()
    (cmd,) = ran
    assert "--strict-checksums" in cmd and "dependency:build-classpath" in cmd


def test_the_pages_topic_reader_closes_its_consumer_on_every_retry(monkeypatch):
    """A broker that goes away makes the operator page's reader retry; each consumer it made
    is closed first (none left holding sockets)."""
    import time

    from inspections.page import sources as page_sources
    from runtime.config.settings import Settings
    from runtime.plumbing import kafka

    made = []

    class Gone:
        closed = False

        def partitions_for_topic(self, topic):
            raise ConnectionError("the broker went away")

        def close(self):
            self.closed = True

    def consumer(*args, **kw):
        made.append(Gone())
        return made[-1]

    monkeypatch.setattr(kafka, "consumer", consumer)
    reader = page_sources.breaches(Settings())
    reader.stopped.wait = lambda seconds: time.sleep(0.01)  # retry at once
    reader.start()
    deadline = time.monotonic() + 5
    while len(made) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    reader.stopped.set()
    reader.thread.join(timeout=5)
    assert len(made) >= 3 and all(c.closed for c in made)


def test_a_list_in_pages_holds_every_item_once_in_order():
    import pytest

    from kernel.paging import DEFAULT_PAGE, paged

    items = [{"id": f"e{i:04d}"} for i in range(1234)]
    walked, cursor = [], None
    while True:
        page, cursor = paged(items[::-1], lambda v: v["id"], "100", cursor)
        walked += page
        if cursor is None:
            break
    assert walked == items
    assert len(paged(items, lambda v: v["id"], None, None)[0]) == DEFAULT_PAGE
    for bad in ("0", "-1", "x", "5001"):
        with pytest.raises(ValueError, match="limit must be a number"):
            paged(items, lambda v: v["id"], bad, None)


def test_a_list_in_its_own_order_in_pages_holds_every_item_once_in_that_order():
    import pytest
    from hypothesis import given
    from hypothesis import strategies as st

    from kernel.paging import paged_in_order

    @given(st.lists(st.uuids().map(str), unique=True), st.integers(1, 7))
    def walks(ids, size):
        items = [{"id": i} for i in ids]  # recorded order, not sorted
        walked, cursor = [], None
        while True:
            page, cursor = paged_in_order(items, lambda v: v["id"], str(size), cursor)
            assert len(page) <= size
            walked += page
            if cursor is None:
                break
        assert walked == items

    walks()
    with pytest.raises(ValueError, match="not in the list"):
        paged_in_order([{"id": "F1"}], lambda v: v["id"], None, "F9")
