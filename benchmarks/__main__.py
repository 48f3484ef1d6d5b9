"""Run every benchmark of design.md §9 and write the table: `python -m benchmarks`.

Each benchmark runs as its own process (as `python -m benchmarks.<name>` would), prints one
JSON line with its figures and the baseline it measured in the same run; this collects them
into `docs/performance.md` with the machine they were taken on, and keeps their raw figures
beside it (`docs/performance.json`).

    python -m benchmarks [--database-url postgresql+asyncpg://…] [--quick] [--only B1,B5]
                         [--write docs/performance.md]

Without `--database-url` the PostgreSQL runs are left out. `--quick` runs small sizes (a
smoke test of the benchmarks themselves, not figures to quote). `--only` with `--write` runs
those again and keeps the other rows of the table as they were (each row says when it was
taken).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.table import Run, load_runs, machine, merge_runs, render, save_runs


@dataclass(frozen=True)
class Job:
    bench: str  # B1..B6, soak
    module: str
    args: tuple[str, ...]
    quick: tuple[str, ...]
    postgres: bool = False  # needs --database-url


JOBS = [
    Job("B1", "routing", (), ("--partners", "500", "--leads", "2000", "--scan-leads", "50")),
    Job("B2", "intake", (), ("--seconds", "5")),
    Job("B2", "intake", ("--b3",), ("--seconds", "5", "--b3", "--b3-seconds", "5"), True),
    Job(
        "B4", "timers", ("--offers", "1000", "--spread", "10"), ("--offers", "200", "--spread", "5")
    ),
    Job("B4", "timers", (), ("--offers", "500", "--spread", "5"), True),
    Job("B4", "restart", ("--offers", "2000"), ("--offers", "200"), False),
    Job("B4", "restart", (), ("--offers", "500"), True),
    Job("B5", "funnel", (), ("--leads", "20000")),
    Job("B5", "funnel", (), ("--leads", "20000"), True),
    Job("B6", "slack_burst", (), ("--leads", "5")),
    Job("B6", "slack_burst", (), ("--leads", "5"), True),
    # 50 leads/s (design) saturates a 2-vCPU machine (docs/reliability.md): measured at 20
    Job("soak", "soak", ("--rate", "20"), ("--seconds", "30", "--rate", "10"), True),
]


def run(job: Job, args: argparse.Namespace) -> Run:
    command = [sys.executable, "-m", f"benchmarks.{job.module}"]
    command += list(job.quick if args.quick else job.args)
    if job.postgres:
        command += ["--database-url", args.database_url]
    print(f"$ {' '.join(command)}", file=sys.stderr, flush=True)
    started, taken = time.monotonic(), datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.splitlines()[-15:])
        print(f"  failed (exit {done.returncode}):\n{tail}", file=sys.stderr)
        figures = {"error": f"exit code {done.returncode}", "args": job_args(job, args)}
        return Run(job.bench, job.module, figures, seconds, taken, job.postgres)
    figures: dict[str, Any] = json.loads(lines[-1])
    print(f"  {lines[-1]}", file=sys.stderr, flush=True)
    return Run(job.bench, job.module, figures, seconds, taken, job.postgres)


def job_args(job: Job, args: argparse.Namespace) -> str:
    """The arguments a run was given, minus the database URL (it may hold a password)."""
    return " ".join(job.quick if args.quick else job.args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="PostgreSQL for the PostgreSQL runs")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    parser.add_argument("--only", default="", help="comma-separated ids, like B1,B5")
    parser.add_argument("--write", type=Path, default=None, help="write the Markdown table here")
    args = parser.parse_args()
    only = {b.strip().upper() for b in args.only.split(",") if b.strip()}
    jobs = [
        j for j in JOBS if (not only or j.bench in only) and (args.database_url or not j.postgres)
    ]
    runs = [run(job, args) for job in jobs]
    ok = all("error" not in r.figures for r in runs)
    if args.write is not None and only and not args.quick:
        runs = merge_runs(load_runs(args.write.with_suffix(".json")), runs)
    text = render(runs, machine(args.database_url), quick=args.quick)
    if args.write is not None:
        args.write.write_text(text, encoding="utf-8")
        save_runs(args.write.with_suffix(".json"), runs)
        print(f"wrote {args.write}", file=sys.stderr)
    else:
        print(text)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
