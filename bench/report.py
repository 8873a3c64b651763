"""The bench's table: each figure beside its baseline, and the machine it ran on."""

from __future__ import annotations

import os
import platform
from pathlib import Path

READ_ONLY = "bare faust agent, reading only"


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

    against = {READ_ONLY: "bare faust agent", "kafka-python loop": "itself", "aiokafka loop": "kafka-python loop",
               "bare faust agent": "itself", "replay": "kafka-python loop",
               "verify": "kafka-python loop", "cores in memory": "kafka-python loop"}
    for name in ("kafka-python loop", "aiokafka loop", READ_ONLY, "bare faust agent",
                 "scheduler alone", "findings alone", "escalation alone", "pipeline", "run all",
                 "cores in memory", "replay", "verify"):
        if name not in rows:
            continue
        row = rows[name]
        lines.append(f"| {name} | {row['events_per_s']:,.0f} | {row['ratio']:.2f}x | "
                     f"{against.get(name, 'bare faust agent')} | {mem(row)} |")
    for deployment, where in (("pipeline", "the pipeline's"), ("run all", "run all's")):
        written = rows.get(deployment, {}).get("changelog_per_record")
        if written:
            lines += ["", f"Changelog records per inbound record over {where} run: " + ", ".join(
                f"{s} {n:g}" for s, n in written.items()) + "."]
    for ladder, who in (("latency", "the pipeline (three workers)"),
                        ("latency run all", "one worker of every service (run all)")):
        if ladder in rows:
            lines += latency_table(rows[ladder], who)
    return "\n".join(lines)


def latency_table(ladder: list[dict], who: str) -> list[str]:
    warm_up = {lat.get("warm_up_s", 5) for lat in ladder} or {5}
    lines = ["", f"{who}: finding.recorded sent and acknowledged -> escalation.raised read, at "
             f"a steady rate after a {'/'.join(f'{w:g}' for w in sorted(warm_up))} s warm-up:",
             "", "| offered findings/s | sent/s | escalations read/s | p50 ms | p99 ms | max ms "
             "| counted | changelog records per finding | records per batch |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for lat in ladder:
        written = ", ".join(f"{s} {n:g}" for s, n in lat.get("changelog_per_finding", {}).items())
        batched = ", ".join(f"{s} {n:g}" for s, n in lat.get("batch_records", {}).items())
        lines.append(f"| {lat['offered_per_s']:g} | {lat['sent_per_s']:g} | "
                     f"{lat['read_per_s']:g} | {lat['p50_ms']} | {lat['p99_ms']} | "
                     f"{lat['max_ms']} | {lat['escalations']} of {lat['findings']} | "
                     f"{written} | {batched} |")
    return lines


def latency_svg(ladder: list[dict], width: int = 640, height: int = 360) -> str:
    """The latency curve: p50 and p99 (log scale, ms) against the offered rate."""
    import math

    if not ladder:
        return ""
    left, right, top, bottom = 90, 20, 30, 50
    rates = [lat["offered_per_s"] for lat in ladder]
    lows = [max(1.0, min(lat["p50_ms"] for lat in ladder))]
    highs = [max(lat["max_ms"] for lat in ladder)]
    y0, y1 = math.floor(math.log10(lows[0])), math.ceil(math.log10(max(highs[0], 10)))
    y1 = max(y1, y0 + 1)

    def x(i: int) -> float:
        return left + (width - left - right) * (i / max(1, len(ladder) - 1))

    def y(ms: float) -> float:
        v = (math.log10(max(ms, 10 ** y0)) - y0) / (y1 - y0)
        return height - bottom - v * (height - top - bottom)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'font-family="sans-serif" font-size="12">',
             f'<text x="{left}" y="18">finding.recorded acknowledged → escalation.raised read'
             '</text>']
    for e in range(y0, y1 + 1):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(10 ** e):.1f}" '
                     f'y2="{y(10 ** e):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 8}" y="{y(10 ** e) + 4:.1f}" text-anchor="end">'
                     f'{10 ** e:g} ms</text>')
    for i, rate in enumerate(rates):
        parts.append(f'<text x="{x(i):.1f}" y="{height - bottom + 18}" text-anchor="middle">'
                     f'{rate:g}/s</text>')
    parts.append(f'<text x="{(left + width - right) / 2}" y="{height - 12}" '
                 'text-anchor="middle">offered findings a second (steady, after a warm-up)'
                 '</text>')
    for key, colour in (("p50_ms", "#1f77b4"), ("p99_ms", "#d62728")):
        points = " ".join(f"{x(i):.1f},{y(lat[key]):.1f}" for i, lat in enumerate(ladder))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                     'stroke-width="2"/>')
        for i, lat in enumerate(ladder):
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(lat[key]):.1f}" r="3" '
                         f'fill="{colour}"/>')
        parts.append(f'<text x="{width - right - 4}" y="{top + (14 if key == "p50_ms" else 28)}" '
                     f'text-anchor="end" fill="{colour}">{key.removesuffix("_ms")}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
