"""`make bench`: every figure next to a baseline measured in the same run, on the same broker
and the same events, reported as a ratio; one table on stdout and JSON in a file.

    .venv/bin/python -m bench.suite [--events 100000] [--quick] [--skip alone] [--json FILE]

1. Baselines over the N inbound records: a plain kafka-python loop (read, json.loads), the
   same with aiokafka, and a bare faust pass-through agent with the services' producer
   settings and sensor (bench/bare.py), and the same agent reading only.
2. Each service alone on the same records (the same generator and seed, published again to
   topics of its own, so that no run sees another's derived records or state).
3. The whole pipeline (three workers at once): throughput, each worker's resident memory
   sampled along the way (the soak: flat means within ±10 % of the median after warm-up).
4. Once it has caught up, latency at steady offered rates (``--rates``: 10, 100, 300, 500,
   1,000 findings/s), each after a warm-up: from a ``finding.recorded``'s send acknowledged
   to its ``escalation.raised`` read (bench/latency.py); p50, p99, max, and the rates
   actually sent and read; then the pipeline catches up with them (a run past saturation
   leaves a backlog: the next rate starts from an idle pipeline, and step 5 verifies a
   finished log); and each service's changelog records written per finding sent (its
   tables' writes: the first cost of a faust worker, ``docs/performance.md``) and the
   records in its batches of the inbound topic (what a batch's fixed writes are shared
   by). ``--skip alone`` leaves out step 2 (the million-event soak: ``--events 1000000
   --skip alone``).
5. With the workers stopped (an idle machine), the three services over the same records in
   memory, in one process (the floor of replay); then replay and verify over the pipeline's
   whole log, and their peak memory.

A worker's rate is counted from the moment its consumer group is first stable (its members
assigned) until the group has committed everything: process start-up is left out, the same way
for the bare agent and the services; the last commit interval (faust commits every 2.8 s) is
in, which is why a quick run understates every worker alike.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench import bare
from bench.baselines import aiokafka_loop, kafka_python_loop
from bench.events import last_time, publish_fresh
from bench.latency import latency
from bench.report import READ_ONLY, latency_svg, machine, table
from bench.workers import (
    Worker,
    batches_applied,
    command_for,
    flat,
    run_until_caught_up,
    worker_env,
)
from kernel.vocabulary import ALL, SERVICES
from runtime.config import topics
from runtime.config.settings import Settings
from runtime.plumbing import kafka


# -- state written ------------------------------------------------------------------------
def changelog_records(settings: Settings,
                      hosts: tuple[str, ...] = SERVICES) -> dict[str, int]:
    """Records on each service's changelog topics (its tables' every write, a key each), by
    service, its workers' (``hosts``: each service's own) or the one worker's of them all
    (``(ALL,)``: its tables are named by service)."""
    admin = kafka.admin(settings)
    try:
        names = admin.list_topics()
    finally:
        admin.close()
    prefix = {s: settings.app_id(s) + "-" if hosts != (ALL,)
              else f"{settings.app_id(ALL)}-{s}-" for s in SERVICES}
    return {s: sum(kafka.log_size(settings, t) for t in names
                   if t.startswith(prefix[s]) and t.endswith("-changelog"))
            for s in SERVICES}


# -- replay and verify --------------------------------------------------------------------
def cores_in_memory(settings: Settings, count: int) -> tuple[int, float, int]:
    """The replay's work without Kafka or files: the same generated records, partitioned as
    Kafka's default partitioner does, through the three services' cores in one process.
    Returns (records, seconds, rejected): the floor of what replay and verify can reach (none
    of the generated records is rejected: one that were would be a cheap record measured)."""
    from bench.events import generate
    from inspections.audit.replay import Pipeline, Record
    from runtime.plumbing.kafka import partition_for

    by_partition: dict[int, list[Record]] = {}
    for offset, (key, value) in enumerate(generate(count)):
        # Appended when it happened, as a simulation publishes: the gate refuses an event
        # dated far ahead of its append time and its partition's clock.
        ms = int(datetime.fromisoformat(json.loads(value)["time"]).timestamp() * 1000)
        if key is None:
            for p in range(settings.partitions):
                by_partition.setdefault(p, []).append(Record("events", p, offset, ms, None, value))
        else:
            p = partition_for(key.encode(), settings.partitions)
            by_partition.setdefault(p, []).append(
                Record("events", p, offset, ms, key.encode(), value))
    records = [r for p in sorted(by_partition) for r in by_partition[p]]
    started = time.monotonic()
    pipeline = Pipeline(settings).run(records)
    pipeline.views()
    took = time.monotonic() - started
    return len(records), took, sum(e["type"] == "record.rejected" for e in pipeline.derived)


def child(args: list[str], env: dict) -> tuple[float, float, str]:
    """An ``inspections`` command as a user runs it: (seconds, peak resident MiB of its
    largest process, its parallel replay's workers included, its last line)."""
    from bench.workers import tree_peak

    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen([sys.executable, "-m", "inspections.cli", *args], env=env,
                                   stdout=out, stderr=err, text=True)
        peak = tree_peak(process)
        elapsed = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        said, complained = out.read(), err.read()
    if process.returncode not in (0, 1):
        raise SystemExit(f"{args} failed:\n{said[-3000:]}\n{complained[-3000:]}")
    return elapsed, peak, said.strip().splitlines()[-1]


# -- the run ------------------------------------------------------------------------------
# --quick (`make test` runs it, tests/integration/test_bench.py) checks that every row is
# measured and written, not what the figures are: the smallest run that still exercises each
# (2,000 events are some 40 units' visits and 200-odd days of ticks, 3,640 records; every
# service derives from them, every worker's memory is sampled), and latency runs long enough
# to count a few dozen findings at 10/s.
QUICK_EVENTS, QUICK_LATENCY_S, QUICK_WARM_UP_S = 2_000, 2.0, 1.0


def deployed(args, settings: Settings, env: dict, home: Path, names: tuple[str, ...],
             say) -> tuple[dict, list[dict]]:
    """The workers ``names`` (the three services', or ``ALL``) over the run's records until
    they have caught up (its row: rate, each worker's memory, changelog records per inbound
    record), then the latency ladder at the offered rates (``latency``) against them."""
    records = kafka.log_size(settings, topics.name(settings, topics.EVENTS))
    workers = [Worker(f"{'pipeline' if len(names) > 1 else 'run'}-{n}",
                      command_for(n, settings)[0], env, home) for n in names]
    groups = {settings.app_id(n): command_for(n, settings)[1] for n in names}
    try:
        row = run_until_caught_up(settings, workers, groups, records, say)
        row["rss"] = {w.name: flat(w.rss) for w in workers}
        row["changelog_per_record"] = {
            s: round(n / records, 2) for s, n in changelog_records(settings, names).items()}
        ladder = []
        after = last_time(args.events).replace(minute=0, second=0, microsecond=0)
        for n, rate in enumerate(float(r) for r in args.rates.split(",")):
            say(f"latency at {rate:g} findings/s for {args.latency_seconds:g} s")
            written = changelog_records(settings, names)
            applied = batches_applied(settings, names)
            # Each run's events an hour after the last's (no escalation of one falls due in
            # the next), all within a day of the generated events' last (the gate refuses an
            # event dated far ahead of its partition's clock).
            lat = latency(settings, rate, args.latency_seconds, say=say,
                          base=after + timedelta(hours=1 + n), warm_up=args.warm_up)
            # A run past saturation stops reading before the workers have caught up: the
            # next rate starts from idle ones, the state written for these findings counted
            # whole, and verify (step 5) compares a finished log.
            run_until_caught_up(settings, workers, groups, 1, say)
            now, batched = changelog_records(settings, names), batches_applied(settings,
                                                                                names)
            lat["changelog_per_finding"] = {s: round((now[s] - written[s]) / lat["sent"], 2)
                                            for s in now}
            # Records per batch of the inbound topic: what a batch's fixed writes are shared by.
            lat["batch_records"] = {
                s: round((batched[s][0] - applied[s][0])
                         / max(1.0, batched[s][1] - applied[s][1]), 1) for s in batched}
            ladder.append(lat)
        return row, ladder
    finally:
        for worker in workers:
            worker.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_EVENTS:,} events and {QUICK_LATENCY_S:g} s latency runs "
                             f"after a {QUICK_WARM_UP_S:g} s warm-up: checks the bench works")
    parser.add_argument("--rates", default="10,100,300,500,1000",
                        help="findings/s offered, one latency run each (comma-separated)")
    parser.add_argument("--latency-seconds", type=float, default=60,
                        help="how long each rate is held, after the warm-up")
    parser.add_argument("--warm-up", type=float, default=5,
                        help="seconds each rate is sent before its findings are counted")
    parser.add_argument("--skip", action="append", default=[], choices=["alone"],
                        help="leave out a measure (the million-event soak skips 'alone')")
    parser.add_argument("--keep", action="store_true",
                        help="keep the run's topics (deleted at the end otherwise)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.latency_seconds, args.rates = QUICK_EVENTS, QUICK_LATENCY_S, "10,100"
        args.warm_up = QUICK_WARM_UP_S

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    settings, records = publish_fresh(args.events, say=say)
    prefix = settings.topic_prefix
    prefixes = [prefix]  # every topic (and changelog) of the run starts with one of these
    try:
        return _run(args, settings, records, prefixes, say)
    finally:
        if not args.keep:
            delete_topics(settings, prefixes, say)


def delete_topics(settings: Settings, prefixes: list[str], say) -> None:
    """The run's topics: a million-event run leaves gigabytes on the broker otherwise."""
    admin = kafka.admin(settings)
    try:
        doomed = [t for t in admin.list_topics() if any(t.startswith(p) for p in prefixes)]
        if doomed:
            admin.delete_topics(doomed)
        say(f"deleted the run's {len(doomed)} topics (--keep keeps them)")
    except Exception as error:  # the figures are already out; say what to clean by hand
        say(f"could not delete the run's topics ({error}); they start with {prefixes}")
    finally:
        admin.close()


def _run(args, settings: Settings, records: int, prefixes: list[str], say) -> int:
    prefix = settings.topic_prefix
    events_topic = topics.name(settings, topics.EVENTS)
    home = Path(tempfile.mkdtemp(prefix="inspections-bench-"))
    env = worker_env(settings, home)
    rows: dict[str, dict] = {}

    say("baseline: kafka-python read + json.loads")
    seconds = kafka_python_loop(settings, events_topic, records)
    rows["kafka-python loop"] = {"events_per_s": records / seconds, "seconds": seconds}
    say("baseline: aiokafka read + json.loads")
    seconds = aiokafka_loop(settings, events_topic, records)
    rows["aiokafka loop"] = {"events_per_s": records / seconds, "seconds": seconds}

    say("baseline: bare faust pass-through agent")

    def fresh_env(label: str) -> tuple[Settings, dict]:
        """The same records (same generator, same seed) on topics of a run's own."""
        own, count = publish_fresh(args.events, say=say)
        prefixes.append(own.topic_prefix)
        assert count == records
        return own, worker_env(own, home / label)

    bare_settings, bare_env = fresh_env("bare")
    bare.create_out_topic(bare_settings)
    command, sources = command_for("bare", bare_settings)
    bare_worker = Worker("bare", command, bare_env, home)
    try:
        rows["bare faust agent"] = run_until_caught_up(
            bare_settings, [bare_worker], {bare_settings.app_id("bare"): sources}, records, say)
    finally:
        bare_worker.stop()
    say("baseline: a bare faust agent that only reads")
    read_settings, read_env = fresh_env("bare-read")
    command, sources = command_for("bare-read", read_settings)
    read_worker = Worker("bare-read", command, read_env, home)
    try:
        rows[READ_ONLY] = run_until_caught_up(
            read_settings, [read_worker], {read_settings.app_id("bare-read"): sources}, records,
            say)
    finally:
        read_worker.stop()

    for service in SERVICES if "alone" not in args.skip else ():
        say(f"{service} alone")
        own, own_env = fresh_env(f"alone-{service}")
        command, sources = command_for(service, own)
        worker = Worker(service, command, own_env, home)
        try:
            rows[f"{service} alone"] = run_until_caught_up(
                own, [worker], {own.app_id(service): sources}, records, say)
            rows[f"{service} alone"]["rss"] = flat(worker.rss)
        finally:
            worker.stop()

    say("the whole pipeline (three workers), memory sampled along the way")
    rows["pipeline"], rows["latency"] = deployed(args, settings, env, home, SERVICES, say)
    say("every service in one worker (run all), memory sampled along the way")
    own, own_env = fresh_env("all")
    rows["run all"], rows["latency run all"] = deployed(args, own, own_env, home, (ALL,), say)

    say("the cores in memory (no Kafka, no files)")
    count, seconds, rejected = cores_in_memory(settings, args.events)
    rows["cores in memory"] = {"events_per_s": count / seconds, "seconds": seconds,
                               "rejected": rejected}
    say("replay and verify")
    out = home / "replay"
    replay_s, replay_mib, _ = child(["replay", "--out", str(out)], env)
    verify_s, verify_mib, verify_line = child(["audit", "verify"], env)
    # The log grew by the latency runs' findings: the rates are over all of it.
    total_now = kafka.log_size(settings, topics.name(settings, topics.EVENTS))
    rows["replay"] = {"events_per_s": total_now / replay_s, "seconds": replay_s,
                      "peak_mib": replay_mib}
    rows["verify"] = {"events_per_s": total_now / verify_s, "seconds": verify_s,
                      "peak_mib": verify_mib, "result": verify_line}
    loop_rate = rows["kafka-python loop"]["events_per_s"]
    rows["replay"]["ratio"] = rows["replay"]["events_per_s"] / loop_rate
    rows["verify"]["ratio"] = rows["verify"]["events_per_s"] / loop_rate
    rows["cores in memory"]["ratio"] = rows["cores in memory"]["events_per_s"] / loop_rate
    bare_rate = rows["bare faust agent"]["events_per_s"]
    for name in (READ_ONLY, *(f"{s} alone" for s in SERVICES), "pipeline", "run all"):
        if name in rows:
            rows[name]["ratio"] = rows[name]["events_per_s"] / bare_rate
    rows["aiokafka loop"]["ratio"] = rows["aiokafka loop"]["events_per_s"] / loop_rate
    rows["kafka-python loop"]["ratio"] = 1.0
    rows["bare faust agent"]["ratio"] = 1.0

    report = {"records": records, "prefix": prefix, "machine": machine(), "rows": rows,
              "when": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    print(table(report))
    path = args.json or Path(os.environ.get("INSPECTIONS_HOME", ".local")) / "bench.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    curve = path.with_suffix(".svg")
    curve.write_text(latency_svg(rows["latency"]))
    one = path.with_name(path.stem + "-run-all.svg")
    one.write_text(latency_svg(rows["latency run all"]))
    say(f"written to {path}, {curve} (the pipeline's latency) and {one} (run all's)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
