#!/usr/bin/env python3
"""Turns the figures the benchmarks append (JSON lines, see benches/common) into BENCHMARKS.md.

    scripts/bench-report.py FIGURES COMMANDS > BENCHMARKS.md

Every row of the table is one measurement of one run of the suite, with the peer it is compared
with measured in the same run. A row whose figures are missing says so, it is never dropped.
"""

import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone


def load(path):
    figures = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                figure = json.loads(line)
                figures[figure["key"]] = figure
    return figures


def number(value, unit):
    if unit in ("ms", "s"):
        return f"{value:,.2f} {unit}" if value < 100 else f"{value:,.0f} {unit}"
    if unit == "%":
        return f"{value:.0f}%"
    return f"{value:,.0f} {unit}"


def cell(figures, key):
    figure = figures.get(key)
    if figure is None:
        return "not measured"
    unit = figure["unit"]
    runs = len(figure["runs"])
    spread = "" if runs == 1 else f" ({number(figure['min'], unit)} – {number(figure['max'], unit)})"
    return f"**{number(figure['median'], unit)}**{spread}, {runs} run{'s' if runs > 1 else ''}"


def median(figures, key):
    figure = figures.get(key)
    return None if figure is None else figure["median"]


def verdict(ok):
    return "n/a" if ok is None else ("met" if ok else "**missed**")


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def inside_spotcheck(figures, broker):
    """The same window's p99 inside spotcheck: where a single POST's time went."""
    parts = [(what, f"ingest.{key}.{broker}") for what, key in (
        ("the request", "request_p99"),
        ("the broker's acknowledgement", "ack_p99"),
        ("the log's write-outs (write and fsync)", "log_write_p99"),
    )]
    said = [f"{what} {cell(figures, key)}" for what, key in parts if key in figures]
    return "—" if not said else "inside spotcheck in the same window, p99: " + "; ".join(said)


def rows(figures):
    """(measurement, spotcheck, compared with, ratio, goal, met) per row."""
    out = []
    brokers = [
        ("embedded", "embedded Tansu"),
        ("separate", "Tansu as its own process"),
        ("embedded_nohold", "embedded Tansu, stages working through a burst as before"),
        ("embedded_samepriority", "embedded Tansu, stages at ingest's CPU priority as before"),
        ("embedded_nofsync", "embedded Tansu, SlateDB without fsync"),
        ("embedded_sqlite", "embedded Tansu on SQLite, the engine before SlateDB"),
    ]
    for key in sorted({k.split(".")[2] for k in figures if k.startswith("ingest.batches.embedded_flush")}):
        ms = key.removeprefix("embedded_flush").removesuffix("ms")
        brokers.append((key, f"embedded Tansu, SlateDB log written every {ms} ms"))
    for broker, label in brokers:
        ingest = median(figures, f"ingest.batches.{broker}")
        ceiling = median(figures, f"ingest.ceiling.{broker}")
        share = ratio(ingest, ceiling)
        ok = None if share is None else (share >= 0.5 and ingest >= 50_000)
        out.append((
            f"ingest, NDJSON batches ({label})",
            cell(figures, f"ingest.batches.{broker}"),
            "plain rdkafka producer, same records: " + cell(figures, f"ingest.ceiling.{broker}"),
            "n/a" if share is None else f"{100 * share:.0f}% of the ceiling",
            "≥ 50% of the ceiling and ≥ 50,000/s",
            verdict(ok),
        ))
        p99 = median(figures, f"ingest.single_p99.{broker}")
        out.append((
            f"single POST latency at a fixed rate ({label})",
            "p50 " + cell(figures, f"ingest.single_p50.{broker}")
            + "; p99 " + cell(figures, f"ingest.single_p99.{broker}"),
            inside_spotcheck(figures, broker),
            "—", "p99 < 10 ms", verdict(None if p99 is None else p99 < 10),
        ))
    history = median(figures, "broker.produce_p99.history")
    fresh = median(figures, "broker.produce_p99.fresh")
    slower = ratio(history, fresh)
    out.append((
        "one record produced to a partition with a long history (`benches/broker.rs`), p50; p99",
        cell(figures, "broker.produce_p50.history") + "; " + cell(figures, "broker.produce_p99.history"),
        "a fresh partition of the same broker: " + cell(figures, "broker.produce_p50.fresh")
        + "; " + cell(figures, "broker.produce_p99.fresh"),
        "n/a" if slower is None else f"p99 {slower:.2f}× the fresh partition's",
        "history costs nothing (p99 ≤ 1.2×)",
        verdict(None if slower is None else slower <= 1.2),
    ))
    for size in ("1M", "10M"):
        writer = median(figures, f"lake.writer.{size}")
        duck = median(figures, f"lake.duckdb_convert.{size}")
        if writer is not None and (duck is not None or size == "1M"):
            speed = ratio(writer, duck)
            out.append((
                f"lake writer, {size} results",
                cell(figures, f"lake.writer.{size}") + "; " + cell(figures, f"lake.writer_rows.{size}"),
                "DuckDB converting the same NDJSON to Parquet: "
                + cell(figures, f"lake.duckdb_convert.{size}"),
                "n/a" if speed is None else f"{speed:.2f}× DuckDB's rate",
                "faster than DuckDB",
                verdict(None if speed is None else speed > 1),
            ))
    for size in ("1M", "10M"):
        views = sorted({k.split(".")[2] for k in figures if k.startswith(f"views.{size}.")})
        if not views:
            out.append((f"trend views, {size} results", "not measured", "", "", "within 1.2× of DuckDB", "n/a"))
        for view in views:
            df = median(figures, f"views.{size}.{view}.datafusion")
            duck = median(figures, f"views.{size}.{view}.duckdb")
            slower = ratio(df, duck)
            out.append((
                f"`{view}`, {size} results",
                cell(figures, f"views.{size}.{view}.datafusion"),
                "DuckDB, same Parquet files: " + cell(figures, f"views.{size}.{view}.duckdb"),
                "n/a" if slower is None else f"{slower:.2f}× DuckDB's time",
                "within 1.2× of DuckDB",
                verdict(None if slower is None else slower <= 1.2),
            ))
    case = median(figures, "traceback.case_p99")
    duck = median(figures, "traceback.duckdb_recursive")
    faster = ratio(duck, case)
    out.append((
        "traceback of a flagged batch, 10M shipments in state, p99",
        "p50 " + cell(figures, "traceback.case_p50") + "; p99 " + cell(figures, "traceback.case_p99"),
        "DuckDB recursive query, same shipments in Parquet: " + cell(figures, "traceback.duckdb_recursive"),
        "n/a" if faster is None else f"{faster:,.0f}× faster (DuckDB median / our p99)",
        "≥ 100× faster",
        verdict(None if faster is None else faster >= 100),
    ))
    absorb = median(figures, "traceback.absorb")
    rss = median(figures, "traceback.peak_rss")
    out.append((
        "shipments absorbed by the traceback state; its resident memory",
        cell(figures, "traceback.absorb") + "; peak RSS " + cell(figures, "traceback.peak_rss"),
        "—", "—", "≥ 100,000/s; < 1 GiB",
        verdict(None if absorb is None or rss is None else absorb >= 100_000 and rss < 1024),
    ))
    p99 = median(figures, "credit.latency_p99")
    out.append((
        "final result → disclosure on the feed at 1,000 results/s",
        "p50 " + cell(figures, "credit.latency_p50") + "; p99 " + cell(figures, "credit.latency_p99"),
        "—", "—", "p99 < 2 s", verdict(None if p99 is None else p99 < 2000),
    ))
    idle = median(figures, "service.idle_cpu.rest")
    fetching = median(figures, "service.idle_cpu.fetching")
    less = ratio(fetching, idle)
    out.append((
        "idle `spotcheck up` with results loaded: CPU (one core = 100%); resident memory",
        cell(figures, "service.idle_cpu.rest") + "; " + cell(figures, "service.idle_rss.rest"),
        "consumers fetching all the time (`rest_when_idle_secs = 0`, as before): "
        + cell(figures, "service.idle_cpu.fetching") + "; " + cell(figures, "service.idle_rss.fetching"),
        "n/a" if less is None else f"{less:.0f}× less CPU",
        "≤ 2% of one core",
        verdict(None if idle is None else idle <= 2),
    ))
    for front, label in (("http", "HTTP `POST /v1/sql`"), ("pg", "Postgres protocol")):
        first = median(figures, f"service.first_row.{front}")
        whole = median(figures, f"service.whole_answer.{front}")
        out.append((
            f"first row of a large answer (10M rows in the full run), {label}",
            cell(figures, f"service.first_row.{front}"),
            "the whole answer: " + cell(figures, f"service.whole_answer.{front}"),
            "n/a" if first is None or whole is None else f"first row at {100 * first / whole:.2f}% of the whole",
            "rows while the query runs",
            verdict(None if first is None or whole is None else first < whole / 10),
        ))
    files = median(figures, "steady.files.max")
    written = median(figures, "steady.files.written")
    out.append((
        "`results` table files during 30 min of steady ingest at 200 results/s (largest count seen)",
        cell(figures, "steady.files.max") + "; at the end " + cell(figures, "steady.files.last"),
        "files the writer committed over the run (optimize merges them): " + cell(figures, "steady.files.written"),
        "n/a" if files is None or written is None else f"{files:,.0f} of {written:,.0f} live",
        "bounded (≤ 100)",
        verdict(None if files is None else files <= 100),
    ))
    last = median(figures, "steady.query.last")
    duck = median(figures, "steady.query.duckdb")
    slower = ratio(last, duck)
    out.append((
        "category `GROUP BY` over HTTP after 30 min of steady ingest (median of 5)",
        cell(figures, "steady.query.last") + "; first minute " + cell(figures, "steady.query.first")
        + "; slowest sample " + cell(figures, "steady.query.max"),
        "DuckDB, same files, in process (no HTTP): " + cell(figures, "steady.query.duckdb"),
        "n/a" if slower is None else f"{slower:.2f}× DuckDB's time",
        "≤ 20 ms",
        verdict(None if last is None else last <= 20),
    ))
    fresh = figures.get("steady.freshness")
    out.append((
        "freshness: a result posted alone → seen by SQL, during steady ingest (one probe a minute)",
        "p50 " + cell(figures, "steady.freshness"),
        "—", "—", "≤ 5 s",
        verdict(None if fresh is None else fresh["max"] <= 5000),
    ))
    for key, what in (
        ("pages.report.1M", "`spotcheck report`, one quarter, 1M results"),
        ("pages.trace_export_csv.1M", "`spotcheck trace-export --format csv`, busiest batch, 1M results + 1M shipments"),
        ("pages.trace_export_xlsx.1M", "`spotcheck trace-export --format xlsx`, same batch"),
    ):
        out.append((what, cell(figures, key), "—", "—", "seconds (issue 8)", "n/a"))
    return out


def machine():
    cores = os.cpu_count()
    with open("/proc/meminfo", encoding="utf-8") as meminfo:
        kib = int(next(l for l in meminfo if l.startswith("MemTotal:")).split()[1])
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next((l.split(":", 1)[1].strip() for l in cpuinfo if l.startswith("model name")), "")
    except OSError:
        pass
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{cores} cores ({model}), {kib / 1024 / 1024:.1f} GiB memory, {platform.system()} {platform.release()}; {rustc}"


def main():
    figures = load(sys.argv[1])
    with open(sys.argv[2], encoding="utf-8") as commands_file:
        commands = commands_file.read().strip()
    ended = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    when = os.environ.get("BENCH_WHEN") or f"{os.environ.get('BENCH_STARTED', '?')} – {ended}"
    print("# Benchmarks\n")
    # BENCH_PROVENANCE replaces the first sentence when the figures come from more than one run.
    provenance = os.environ.get("BENCH_PROVENANCE") or f"One run of `scripts/bench`, {when}."
    print(f"{provenance} Machine: {machine()}.\n")
    print("Medians, with min – max over the runs in brackets; every comparison is measured in the same")
    print("run on the same data. Regenerate with `scripts/bench` (it rewrites this file).\n")
    print("| measurement | spotcheck | compared with, in the same run | ratio | goal | |")
    print("|---|---|---|---|---|---|")
    for row in rows(figures):
        print("| " + " | ".join(row) + " |")
    notes = os.environ.get("BENCH_NOTES")
    if notes and os.path.exists(notes):
        with open(notes, encoding="utf-8") as notes_file:
            print("\n" + notes_file.read().strip())
    print("\n## Commands of this run\n")
    print("```")
    print(commands)
    print("```")
    print("\n## Every figure\n")
    print("| key | unit | runs |")
    print("|---|---|---|")
    for key, figure in sorted(figures.items()):
        runs = ", ".join(f"{v:,.2f}" for v in figure["runs"])
        print(f"| `{key}` | {figure['unit']} | {runs} |")


if __name__ == "__main__":
    main()
