"""The benchmark table of docs/performance.md: one row per run, next to its own baseline."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TARGETS = {
    "B1": "≥ 20,000 decisions/s and ≥ 100x the scan",
    "B2": "p99 ≤ 2x bare",
    "B3": "≥ 30% of raw inserts",
    "B4": "p99 lateness ≤ 1 s, all handled, RSS ≤ 200 MB",
    "B4 restart": "all handled once, within one sweep interval",
    "B5": "≤ 5x count(*)",
    "B6": "no 429s, all delivered, ≥ 0.9 of the limit",
    "soak": "0 errors, 0 duplicates, RSS flat, every lead accounted for",
}


@dataclass(frozen=True)
class Run:
    bench: str
    module: str
    figures: dict[str, Any]
    seconds: float
    taken: str = ""  # UTC, when the run started
    postgres: bool = False  # the PostgreSQL run of its benchmark

    @property
    def key(self) -> tuple[str, bool]:
        return self.module, self.postgres


def save_runs(path: Path, runs: list[Run]) -> None:
    """The raw figures of every row, so a later `--only` run can keep the rows it did not redo."""
    path.write_text(json.dumps([asdict(r) for r in runs], indent=1) + "\n", encoding="utf-8")


def load_runs(path: Path) -> list[Run]:
    if not path.exists():
        return []
    return [Run(**r) for r in json.loads(path.read_text(encoding="utf-8"))]


def merge_runs(kept: list[Run], new: list[Run]) -> list[Run]:
    """The kept rows with those run again replaced, in their places; rows never run before last."""
    fresh = {r.key: r for r in new}
    merged = [fresh.pop(r.key, r) for r in kept]
    return merged + list(fresh.values())


def _routing(f: dict[str, Any]) -> tuple[str, str]:
    return (
        f"{f['decisions_per_s']:,} decisions/s ({f['partners']:,} partners, "
        f"{f['territory_rules']:,} rules)",
        f"linear scan {f['baseline_linear_scan_per_s']:,}/s: **{f['speedup']}x**",
    )


def _intake(f: dict[str, Any]) -> tuple[str, str]:
    cpu = f.get("cpu_ms_per_lead")  # runs before it was measured have none
    bare_cpu = f.get("baseline_bare_cpu_ms_per_lead")
    return (
        f"POST → chat.postMessage at {f['rate_per_s']:g}/s for {f['seconds']:g} s "
        f"({f['delivered']}/{f['leads']} delivered): p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms"
        + (f"; {cpu} ms CPU a lead" if cpu is not None else ""),
        f"bare pipeline p50 {f['baseline_bare_p50_ms']} ms, p99 {f['baseline_bare_p99_ms']} ms"
        + (f", {bare_cpu} ms CPU" if bare_cpu is not None else "")
        + f": **{f['p99_ratio']}x**",
    )


def _sustained(f: dict[str, Any]) -> tuple[str, str]:
    return (
        f"{f['B3_leads_per_s']:,} leads/s sustained, POST → card delivered",
        f"raw single-row inserts {f['B3_baseline_raw_inserts_per_s']:,}/s: **{f['B3_ratio']:.1%}**"
        + (
            f" (a bare pipeline, HTTP in → one commit → HTTP out, sustains "
            f"{f['B3_bare_pipeline_per_s']:,}/s: "
            f"{f['B3_bare_pipeline_per_s'] / f['B3_baseline_raw_inserts_per_s']:.1%})"
            if "B3_bare_pipeline_per_s" in f
            else ""
        ),
    )


def _timers(f: dict[str, Any]) -> tuple[str, str]:
    return (
        f"{f['handled']:,}/{f['offers']:,} offers expiring over {f['spread_s']:g} s: lateness "
        f"p50 {f['lateness_p50_s']} s, p99 {f['lateness_p99_s']} s, max {f['lateness_max_s']} s;"
        f" peak RSS {f['peak_rss_mb']} MB",
        f"bare loop.call_at p99 {f['baseline_call_at_p99_s']} s",
    )


def _restart(f: dict[str, Any]) -> tuple[str, str]:
    took = f["restart_to_all_handled_s"]
    return (
        f"{f['handled']:,}/{f['offers']:,} overdue offers handled "
        f"{'in ' + str(took) + ' s' if took is not None else 'not all'} after the restart "
        f"({f['handled_twice']} twice); /healthz answered after {f['restart_to_healthy_s']} s",
        f"sweep interval {f['baseline_sweep_interval_s']:g} s",
    )


def _funnel(f: dict[str, Any]) -> tuple[str, str]:
    return (
        f"`funnel all 90d` over {f['leads']:,} leads: {f['funnel_ms']} ms (first rollup build "
        f"{f['rollup_build_s']} s, once)",
        f"count(*) {f['baseline_count_ms']} ms: **{f['ratio']}x**",
    )


def _burst(f: dict[str, Any]) -> tuple[str, str]:
    bare = f["baseline_unpaced"]
    return (
        f"{f['leads']} leads for one channel in {f['posted_within_s']} s: "
        f"{f['delivered']} delivered, {f['responses_429']} 429s, "
        f"{f['rate_to_limit']:.0%} of the limit",
        f"unpaced: {bare['responses_429']:,} 429s, {bare['rate_to_limit']:.0%} of the limit",
    )


def _soak(f: dict[str, Any]) -> tuple[str, str]:
    rss = ", ".join(f"{a:g}→{b:g}" for a, b in zip(f["rss_start_mb"], f["rss_end_mb"], strict=True))
    return (
        f"two instances, {f['rate_per_s']:g} leads/s for {f['seconds']:g} s: "
        f"{f['error_responses']} error answers, {f['duplicate_offers']} duplicates, "
        f"{f['accounted']:,}/{f['leads_sent']:,} leads accounted for; RSS MB {rss}; "
        f"intake p50 {f['intake_p50_ms']} ms, p99 {f['intake_p99_ms']} ms",
        f"first minute p50 {f['baseline_first_minute_p50_ms']} ms, p99 "
        f"{f['baseline_first_minute_p99_ms']} ms; last minute p99 {f['last_minute_p99_ms']} ms",
    )


FORMATS: dict[str, Callable[[dict[str, Any]], tuple[str, str]]] = {
    "routing": _routing,
    "intake": _intake,
    "timers": _timers,
    "restart": _restart,
    "funnel": _funnel,
    "slack_burst": _burst,
    "soak": _soak,
}


Row = tuple[str, str, str, str, str, str, str]


def _rows(run: Run) -> list[Row]:
    f = run.figures
    database = str(f.get("database", "postgresql" if run.postgres else "-"))
    target = TARGETS["B4 restart" if run.module == "restart" else run.bench]
    if "error" in f:
        return [(run.bench, database, f"failed: {f['error']}", "-", target, "**no**", run.taken)]
    met = "yes" if f.get("met") else "**no**"
    figure, baseline = FORMATS[run.module](f)
    rows = [(run.bench, database, figure, baseline, target, met, run.taken)]
    if "B3_leads_per_s" in f:
        figure, baseline = _sustained(f)
        b3_met = "yes" if f["B3_ratio"] >= 0.3 else "**no**"
        rows.append(("B3", database, figure, baseline, TARGETS["B3"], b3_met, run.taken))
    return rows


NOTES = Path(__file__).with_name("notes.md")


def render(runs: list[Run], machine_line: str, *, quick: bool) -> str:
    head = [
        "# Performance",
        "",
        "Every figure of design.md §9, each next to the baseline its benchmark measured in the",
        "same run. Generated by `python -m benchmarks --database-url postgresql+asyncpg://… "
        "--write docs/performance.md`; each row is one `python -m benchmarks.<name>` process.",
        "",
        f"Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC (each row says when it was taken, UTC) "
        f"on: {machine_line}.",
        "",
    ]
    if quick:
        head += ["**Quick run (small sizes): a smoke test, not figures to quote.**", ""]
    table = [
        "| id | database | figure | baseline (same run) | target | met | taken |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        for row in _rows(run):
            table.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return "\n".join(head + table) + "\n\n" + NOTES.read_text(encoding="utf-8")


def machine(database_url: str | None) -> str:
    """CPU, cores, memory, OS, Python, SQLite and PostgreSQL versions."""
    cpu = platform.processor() or platform.machine()
    info = Path("/proc/cpuinfo")
    if info.exists():
        names = [ln.split(":", 1)[1].strip() for ln in info.read_text().splitlines()
                 if ln.startswith("model name")]  # fmt: skip
        cpu = names[0] if names else cpu
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    parts = [
        f"{cpu}, {os.cpu_count()} vCPU{memory}",
        f"a 10,000,000-step Python loop in {cpu_yardstick():.2f} s (compare machines with it)",
        f"{platform.system()} {platform.release()}",
        f"Python {platform.python_version()}",
        f"SQLite {sqlite3.sqlite_version}",
    ]
    if database_url:
        parts.append(f"PostgreSQL {asyncio.run(_pg_version(database_url))}")
    return "; ".join(parts)


def cpu_yardstick(steps: int = 10_000_000) -> float:
    """Seconds for a plain Python loop: how fast one core of this machine runs Python."""
    best = float("inf")
    for _ in range(3):
        started, total = time.perf_counter(), 0
        for i in range(steps):
            total += i
        best = min(best, time.perf_counter() - started)
    return best


async def _pg_version(url: str) -> str:
    from sqlalchemy import text

    from bot.store.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return str((await conn.execute(text("SHOW server_version"))).scalar())
    finally:
        await engine.dispose()
