"""The bench's table: each figure beside its baseline, and the machine it ran on."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def table(report: dict) -> str:
    rows = report["rows"]
    lines = [f"{report['records']} inbound records; {report['machine']}", "",
             "| measure | events/s | ratio | against | memory |", "| --- | --- | --- | --- | --- |"]

    def mem(row) -> str:
        rss = row.get("rss")
        if rss is None:
            return f"peak {row['peak_mib']:.0f} MiB" if "peak_mib" in row else ""
        if "median_mib" in rss:
            return f"{rss['median_mib']:.0f} MiB ({'flat' if rss['flat'] else 'not flat'})"
        return ", ".join(f"{k.removeprefix('pipeline-')} {v['median_mib']:.0f} MiB "
                         f"({'flat' if v['flat'] else 'not flat'})" for k, v in rss.items())

    against = {"kafka-python loop": "itself", "aiokafka loop": "kafka-python loop",
               "bare faust agent": "itself", "replay": "kafka-python loop",
               "verify": "kafka-python loop", "cores in memory": "kafka-python loop"}
    for name in ("kafka-python loop", "aiokafka loop", "bare faust agent", "scheduler alone",
                 "findings alone", "escalation alone", "pipeline", "cores in memory", "replay",
                 "verify"):
        if name not in rows:
            continue
        row = rows[name]
        lines.append(f"| {name} | {row['events_per_s']:,.0f} | {row['ratio']:.2f}x | "
                     f"{against.get(name, 'bare faust agent')} | {mem(row)} |")
    lines += ["", "finding.recorded sent and acknowledged -> escalation.raised read, at a steady "
              "rate after a 5 s warm-up:", "",
              "| offered findings/s | sent/s | escalations read/s | p50 ms | p99 ms | max ms "
              "| counted |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for lat in rows.get("latency", []):
        lines.append(f"| {lat['offered_per_s']:g} | {lat['sent_per_s']:g} | "
                     f"{lat['read_per_s']:g} | {lat['p50_ms']} | {lat['p99_ms']} | "
                     f"{lat['max_ms']} | {lat['escalations']} of {lat['findings']} |")
    return "\n".join(lines)
