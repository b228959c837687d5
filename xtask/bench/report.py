#!/usr/bin/env python3
"""Turns the JSON records of `cargo xtask bench` into docs/BENCHMARKS.md and its plot.

    report.py --results target/bench-results --out docs/BENCHMARKS.md \
              --plot docs/benchmarks-authenticate.png

Input: every `*.json` under --results (the benchmarks write into one subdirectory each) is one
measured figure (or a list of them), except the files named `run.json`, which describe a run:
`<results>/run.json` the last full run, `<results>/<name>/run.json` an `--only <name>` re-run.
A record has `id`, `group`, `key`, `subject` (tessera, floor or peer) and `label`, and any of
`n`, `tasks`, `median_ns`, `p50_ns`, `p99_ns`, `samples`, `ops`, `throughput_per_s`, `value`,
`unit`, `notes`. Rows of the same group and key are compared with each other.

The report holds no analysis: `BENCHMARKS-analysis.md` beside the output, written by hand, is
appended verbatim when it exists (--analysis names another file).

Needs only the standard library and matplotlib. A malformed input file is named on stderr and
the exit status is 1, with nothing written.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path

SUBJECTS = ("floor", "tessera", "peer")
REQUIRED_STRINGS = ("id", "group", "key", "subject", "label")
OPTIONAL_STRINGS = ("unit", "notes")
OPTIONAL_INTS = ("n", "tasks", "samples", "ops")
OPTIONAL_NUMBERS = ("median_ns", "p50_ns", "p99_ns", "throughput_per_s", "value")

# Sections come in this order (a name also takes its subgroups: `jwt` takes `jwt/sign`), then
# every other group alphabetically.
GROUP_ORDER = (
    "token",
    "jwt",
    "authenticate/memory",
    "authenticate/sqlite",
    "authenticate/postgres",
    "authenticate",
    "create",
    "purge",
    "http",
    "memory",
)
STORES = ("memory", "sqlite", "postgres")
STORE_NAMES = {"memory": "memory store", "sqlite": "SQLite", "postgres": "PostgreSQL"}
THIN = "\u202f"  # narrow no-break space: groups digits without letting a number wrap


@dataclass
class Record:
    id: str
    group: str
    key: str
    subject: str
    label: str
    source: str
    n: int | None = None
    tasks: int | None = None
    samples: int | None = None
    ops: int | None = None
    median_ns: float | None = None
    p50_ns: float | None = None
    p99_ns: float | None = None
    throughput_per_s: float | None = None
    value: float | None = None
    unit: str | None = None
    notes: str | None = None

    @property
    def single_task(self) -> bool:
        return self.tasks in (None, 1)


@dataclass
class Run:
    mode: str = "unknown"
    command: str = "unknown"
    only: str | None = None
    started_at: str = "unknown"
    duration_s: float | None = None
    git_commit: str = "unknown"
    rustc: str = "unknown"
    steps: list = field(default_factory=list)


class Malformed(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Input


def parse_record(obj: object, source: str) -> Record:
    if not isinstance(obj, dict):
        raise Malformed(f"a record must be a JSON object, not {type(obj).__name__}")
    values = {}
    for name in REQUIRED_STRINGS:
        value = obj.get(name)
        if not isinstance(value, str) or not value:
            raise Malformed(f"`{name}` must be a non-empty string (got {value!r})")
        values[name] = value
    if values["subject"] not in SUBJECTS:
        raise Malformed(f"`subject` must be one of {', '.join(SUBJECTS)} (got {values['subject']!r})")
    for name in OPTIONAL_STRINGS:
        value = obj.get(name)
        if value is not None and not isinstance(value, str):
            raise Malformed(f"`{name}` must be a string or null (got {value!r})")
        values[name] = value
    for name in OPTIONAL_INTS:
        value = obj.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise Malformed(f"`{name}` must be an integer or null (got {value!r})")
        values[name] = value
    for name in OPTIONAL_NUMBERS:
        value = obj.get(name)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise Malformed(f"`{name}` must be a number or null (got {value!r})")
            if not math.isfinite(value):
                raise Malformed(f"`{name}` must be finite (got {value!r})")
            value = float(value)
        values[name] = value
    return Record(source=source, **values)


def parse_run(obj: object) -> Run:
    if not isinstance(obj, dict):
        raise Malformed("run.json must hold a JSON object")
    run = Run()
    for name in ("mode", "command", "started_at", "git_commit", "rustc"):
        value = obj.get(name)
        if value is not None:
            if not isinstance(value, str):
                raise Malformed(f"`{name}` must be a string (got {value!r})")
            setattr(run, name, value)
    only = obj.get("only")
    if only is not None and not isinstance(only, str):
        raise Malformed(f"`only` must be a string or null (got {only!r})")
    run.only = only
    duration = obj.get("duration_s")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, (int, float))):
        raise Malformed(f"`duration_s` must be a number (got {duration!r})")
    run.duration_s = duration
    steps = obj.get("steps", [])
    if not isinstance(steps, list) or not all(
        isinstance(s, dict) and isinstance(s.get("name"), str) for s in steps
    ):
        raise Malformed("`steps` must be a list of objects with a `name`")
    run.steps = steps
    return run


def load(results: Path) -> tuple[list[Record], Run | None, list[Run], list[str]]:
    """Records, the full run, the `--only` re-runs, and one message per malformed file."""
    records: list[Record] = []
    main_run: Run | None = None
    reruns: list[Run] = []
    errors: list[str] = []
    seen: dict[str, str] = {}
    for path in sorted(results.rglob("*.json")):
        shown = str(path.relative_to(results))
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if path.name == "run.json":
                run = parse_run(data)
                if path.parent == results:
                    main_run = run
                else:
                    reruns.append(run)
                continue
            for obj in data if isinstance(data, list) else [data]:
                record = parse_record(obj, shown)
                if record.id in seen:
                    raise Malformed(f"id {record.id!r} is also in {seen[record.id]}")
                seen[record.id] = shown
                records.append(record)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, Malformed) as e:
            errors.append(f"{path}: {e}")
    return records, main_run, reruns, errors


# ---------------------------------------------------------------------------------------------
# Formatting


def sig3(x: float) -> str:
    """`x` with three significant digits, never in exponent notation."""
    if x == 0:
        return "0"
    decimals = max(0, 2 - math.floor(math.log10(abs(x))))
    text = f"{round(x, decimals):.{decimals}f}"
    return group_digits(text)


def group_digits(text: str) -> str:
    sign = "-" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    if len(whole) > 4:  # 1234 stays as it is, 12 345 is grouped
        whole = f"{int(whole):,}".replace(",", THIN)
    return sign + whole + ("." + fraction if fraction else "")


def fmt_ns(ns: float | None) -> str:
    if ns is None:
        return ""
    ns = float(f"{ns:.3g}")  # round first, so that 999.7 ns shows as 1.00 µs
    for scale, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
        if abs(ns) >= scale:
            return f"{sig3(ns / scale)} {unit}"
    return f"{sig3(ns)} ns"


def fmt_number(x: float | None) -> str:
    if x is None:
        return ""
    if abs(x) >= 100 or x == int(x):
        return group_digits(f"{x:.0f}")
    return sig3(x)


def fmt_ratio(r: float) -> str:
    return group_digits(f"{r:.0f}") if r >= 1000 else f"{r:.3g}"


def fmt_n(n: int | None) -> str:
    if n is None:
        return "?"
    if n >= 10 and 10 ** round(math.log10(n)) == n:
        return f"10^{round(math.log10(n))}"
    return group_digits(str(n))


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def md(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Comparisons


def cost_ratio(a: Record, b: Record) -> tuple[float, str] | None:
    """How much `a` costs relative to `b` (time per operation, or the value in the same unit)."""
    if a.median_ns and b.median_ns:
        return a.median_ns / b.median_ns, "time"
    if a.throughput_per_s and b.throughput_per_s:
        return b.throughput_per_s / a.throughput_per_s, "time"
    if a.value is not None and b.value and a.unit == b.unit:
        return a.value / b.value, "value"
    return None


def comparison(row: Record, same_key: list[Record]) -> str:
    if row.subject == "floor":
        return ""
    reference = "floor" if row.subject == "tessera" else "tessera"
    refs = [r for r in same_key if r.subject == reference]
    parts = []
    for ref in refs:
        ratio = cost_ratio(row, ref)
        if ratio is None:
            continue
        r, basis = ratio
        if row.subject == "tessera":
            text = f"{fmt_ratio(r)}× floor"
        elif basis == "value":
            text = f"{fmt_ratio(r)}× Tessera"
        elif r >= 1:
            text = f"Tessera {fmt_ratio(r)}× faster"
        else:
            text = f"peer {fmt_ratio(1 / r)}× faster"
        parts.append(text if len(refs) == 1 else f"{text} ({md(ref.label)})")
    return "; ".join(parts)


def in_group(records: list[Record], group: str) -> list[Record]:
    return [r for r in records if r.group == group]


def pairs(rows: list[Record], a: str, b: str, metric: str | None, keep=lambda r: True):
    """(a row, b row) of the same key, both with `metric`, sorted by (n, tasks, key)."""
    by_key: dict[str, dict[str, Record]] = {}
    for r in rows:
        if (metric is None or getattr(r, metric) is not None) and keep(r):
            by_key.setdefault(r.key, {}).setdefault(r.subject, r)
    found = [(s[a], s[b]) for s in by_key.values() if a in s and b in s]
    return sorted(found, key=lambda p: (p[0].n or -1, p[0].tasks or 1, p[0].key))


# ---------------------------------------------------------------------------------------------
# Targets


@dataclass
class Target:
    text: str
    measured: str | None = None  # None: not measured in this run
    met: bool | None = None  # None once measured: this run cannot judge it
    missed_by: float | None = None
    caveat: str = ""

    def row(self) -> list[str]:
        if self.measured is None:
            return [self.text, "not measured in this run", "—"]
        if self.met is None:
            verdict = "— not judged"
        elif self.met:
            verdict = "✅"
        else:
            verdict = "❌" + (f" missed by {fmt_ratio(self.missed_by)}×" if self.missed_by else "")
        return [self.text, self.measured, verdict + self.caveat]


@dataclass
class Case:
    """One (N, tasks) case of a target: Tessera's row, the row it is judged against, their ratio."""

    ratio: float
    tessera: Record
    other: Record

    @property
    def tasks(self) -> int:
        return self.tessera.tasks or 1

    def where(self) -> str:
        return f"N = {fmt_n(self.tessera.n)}, {fmt_tasks(self.tasks)}"


def fmt_tasks(tasks: int) -> str:
    return "1 task" if tasks == 1 else f"{tasks} tasks"


def cases(rows: list[Record], other: str, ratio) -> list[Case]:
    """Every case of `rows` with a Tessera and an `other` median, sorted by (tasks, n, key)."""
    found = [Case(ratio(t, o), t, o) for t, o in pairs(rows, "tessera", other, "median_ns")]
    return sorted(found, key=lambda c: (c.tasks, c.tessera.n or -1, c.tessera.key))


def worst_first(found: list[Case], worst: Case, detail: str) -> str:
    """`detail` (the worst case), then the ratios of the other cases, one list per task count."""
    if len(found) == 1:
        return detail
    by_tasks: dict[int, list[str]] = {}
    for case in found:
        if case is not worst:
            item = f"{fmt_ratio(case.ratio)}× {fmt_n(case.tessera.n)}"
            by_tasks.setdefault(case.tasks, []).append(item)
    rest = [f"{', '.join(items)} at {fmt_tasks(t)}" for t, items in sorted(by_tasks.items())]
    return "; ".join([f"worst {detail}", *rest])


def at_most(target: Target, measured: float, limit: float) -> None:
    target.met = measured <= limit
    target.missed_by = measured / limit


def at_least(target: Target, measured: float, limit: float) -> None:
    target.met = measured >= limit
    target.missed_by = limit / measured if measured > 0 else None


def floor_target(records: list[Record], group: str, text: str, limit: float) -> Target:
    """Tessera / floor at every N and task count; the worst one judges."""
    target = Target(text)
    found = cases(in_group(records, group), "floor", lambda t, f: t.median_ns / f.median_ns)
    if found:
        worst = max(found, key=lambda c: c.ratio)
        detail = (
            f"{fmt_ratio(worst.ratio)}× at {worst.where()} ({fmt_ns(worst.tessera.median_ns)} vs "
            f"{fmt_ns(worst.other.median_ns)} for the floor, {md(worst.other.label)})"
        )
        target.measured = worst_first(found, worst, detail)
        at_most(target, worst.ratio, limit)
    return target


def peer_target(records: list[Record]) -> Target:
    """Peer / Tessera at every N and task count; the smallest speed-up judges."""
    target = Target("SQLite `authenticate` ≥ 5× faster than the tower-sessions peer")
    rows = in_group(records, "authenticate/sqlite")
    found = cases(rows, "peer", lambda t, p: p.median_ns / t.median_ns)
    if found:
        worst = min(found, key=lambda c: c.ratio)
        detail = (
            f"Tessera {fmt_ratio(worst.ratio)}× faster at {worst.where()} "
            f"({fmt_ns(worst.tessera.median_ns)} vs {fmt_ns(worst.other.median_ns)} for the peer)"
        )
        target.measured = worst_first(found, worst, detail)
        at_least(target, worst.ratio, 5)
    return target


def http_target(records: list[Record], store: str, limit: float) -> Target:
    """Tessera's share of the trivial handler's requests/s at every case; the lowest judges."""
    target = Target(
        f"{STORE_NAMES[store]} HTTP `authenticate` ≥ {limit:.0%} of a trivial handler's requests/s"
    )
    found = []
    for tessera, floor in pairs(in_group(records, f"http/{store}"), "tessera", "floor", None):
        if tessera.throughput_per_s and floor.throughput_per_s:
            found.append((tessera.throughput_per_s / floor.throughput_per_s, tessera, floor))
        elif tessera.median_ns and floor.median_ns:
            found.append((floor.median_ns / tessera.median_ns, tessera, floor))
    if not found:
        return target
    share, tessera, floor = min(found, key=lambda f: f[0])
    text = f"{share:.0%}"
    if tessera.throughput_per_s and floor.throughput_per_s:
        text += (
            f" ({fmt_number(tessera.throughput_per_s)} vs "
            f"{fmt_number(floor.throughput_per_s)} req/s, {md(tessera.key)})"
        )
    else:
        text += f" ({md(tessera.key)})"
    others = [f"{s:.0%} {md(t.key)}" for s, t, _ in found if t is not tessera]
    target.measured = "; ".join([f"worst {text}", ", ".join(others)]) if others else text
    at_least(target, share, limit)
    return target


@dataclass
class Scaling:
    """One store's latency at its largest N against its smallest, at one task count."""

    store: str
    tasks: int
    ratio: float
    small: int
    large: int


def scaling_target(records: list[Record], mode: str) -> Target:
    target = Target("`authenticate` latency at N = 10^6 ≤ 1.5× the latency at N = 10^4")
    found: list[Scaling] = []
    for store in STORES:
        by_tasks: dict[int, dict[int, Record]] = {}
        for r in sorted(in_group(records, f"authenticate/{store}"), key=lambda r: (r.key, r.label)):
            if r.subject == "tessera" and r.n and r.median_ns:
                by_tasks.setdefault(r.tasks or 1, {}).setdefault(r.n, r)
        for tasks, by_n in sorted(by_tasks.items()):
            if len(by_n) >= 2:
                small, large = by_n[min(by_n)], by_n[max(by_n)]
                ratio = large.median_ns / small.median_ns
                found.append(Scaling(store, tasks, ratio, small.n, large.n))
    if not found:
        return target
    spans = {(s.small, s.large) for s in found}
    several_tasks = len({s.tasks for s in found}) > 1
    details: dict[str, list[str]] = {}
    for s in found:
        item = f"{fmt_ratio(s.ratio)}×"
        if several_tasks:
            item += f" at {fmt_tasks(s.tasks)}"
        if len(spans) > 1:
            item += f" ({fmt_n(s.large)} vs {fmt_n(s.small)})"
        details.setdefault(s.store, []).append(item)
    notes = []
    if len(spans) == 1:
        small, large = next(iter(spans))
        notes.append(f"{fmt_n(large)} vs {fmt_n(small)}")
    largest = min(s.large for s in found)
    if largest < 10**6:
        notes.append("quick run has no 10^6" if mode == "quick" else "10^6 was not measured")
        target.caveat = f" (up to {fmt_n(largest)} only)"
    separator = "; " if several_tasks else ", "
    target.measured = separator.join(
        f"{STORE_NAMES[store]} {', '.join(items)}" for store, items in details.items()
    ) + (f" ({'; '.join(notes)})" if notes else "")
    at_most(target, max(s.ratio for s in found), 1.5)
    return target


def purge_target(records: list[Record]) -> Target:
    target = Target("A purge raises `authenticate` p99 by at most 2×")
    parts, worst = [], None
    for store in ("sqlite", "postgres"):
        rows = {r.key: r for r in in_group(records, f"purge/{store}") if r.subject == "tessera"}
        idle, during = p99(rows.get("p99 idle")), p99(rows.get("p99 during purge"))
        if idle and during:
            ratio = during / idle
            parts.append(
                f"{STORE_NAMES[store]} {fmt_ratio(ratio)}× ({fmt_ns(during)} during a purge vs "
                f"{fmt_ns(idle)} idle)"
            )
            worst = ratio if worst is None else max(worst, ratio)
    if worst is not None:
        target.measured = "; ".join(parts)
        at_most(target, worst, 2)
    return target


def p99(row: Record | None) -> float | None:
    if row is None:
        return None
    if row.p99_ns is not None:
        return row.p99_ns
    return row.value if row.unit == "ns" else None


def purge_time_target(records: list[Record], mode: str) -> Target:
    """The time the SQLite purge of 10^6 dead sessions took; a run that purged fewer cannot tell."""
    target = Target("Purge of 10^6 dead sessions, SQLite, ≤ 30 s")
    rows = [
        r
        for r in in_group(records, "purge/sqlite")
        if r.subject == "tessera" and r.key == "purge" and seconds(r) is not None
    ]
    if not rows:
        return target
    row = max(rows, key=lambda r: r.n or 0)
    took = seconds(row)
    if row.n is not None and row.n >= 10**6:
        target.measured = f"{fmt_ns(took * 1e9)} (N = {fmt_n(row.n)})"
        at_most(target, took, 30)
    else:
        run = "quick run" if mode == "quick" else "the run"
        target.measured = f"— ({run} purged {fmt_n(row.n)}, in {fmt_ns(took * 1e9)})"
    return target


def seconds(row: Record) -> float | None:
    scale = {"s": 1, "ms": 1e-3, "µs": 1e-6, "us": 1e-6, "ns": 1e-9}.get(row.unit or "")
    return None if row.value is None or scale is None else row.value * scale


def memory_target(records: list[Record]) -> Target:
    target = Target("Memory store ≤ 1 KiB per session")
    rows = [
        r
        for r in in_group(records, "memory")
        if r.subject == "tessera" and r.unit == "bytes/session" and r.value is not None
    ]
    if rows:
        worst = max(rows, key=lambda r: (r.value, r.n or 0))
        target.measured = f"{fmt_number(worst.value)} bytes/session"
        if worst.n:
            target.measured += f" (N = {fmt_n(worst.n)})"
        if len(rows) > 1:
            target.measured += f", the most of {len(rows)} measurements"
        at_most(target, worst.value, 1024)
    return target


def targets(records: list[Record], mode: str) -> list[Target]:
    """Each target judged at every N and task count of the run: the worst case decides."""
    return [
        floor_target(records, "authenticate/memory", "Memory-store `authenticate` ≤ 2× its floor", 2),
        floor_target(records, "authenticate/sqlite", "SQLite `authenticate` ≤ 2× its floor", 2),
        peer_target(records),
        floor_target(
            records, "authenticate/postgres", "PostgreSQL `authenticate` ≤ 1.5× one round trip", 1.5
        ),
        http_target(records, "sqlite", 0.5),
        http_target(records, "postgres", 0.35),
        scaling_target(records, mode),
        purge_target(records),
        purge_time_target(records, mode),
        memory_target(records),
    ]


# ---------------------------------------------------------------------------------------------
# The machine


def machine() -> list[tuple[str, str]]:
    def first(path: str, prefix: str) -> str | None:
        try:
            for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith(prefix):
                    return line.split(":" if ":" in line else "=", 1)[1].strip().strip('"')
        except OSError:
            pass
        return None

    memory = first("/proc/meminfo", "MemTotal")
    ram = f"{int(memory.split()[0]) / 1024**2:.1f} GiB" if memory else "unknown"
    return [
        ("CPU", first("/proc/cpuinfo", "model name") or platform.processor() or "unknown"),
        ("Logical cores", str(os.cpu_count() or "unknown")),
        ("RAM", ram),
        ("Kernel", platform.release() or "unknown"),
        ("OS", first("/etc/os-release", "PRETTY_NAME") or platform.platform()),
    ]


# ---------------------------------------------------------------------------------------------
# The plot


def plot(records: list[Record], path: Path, mode: str, date: str) -> bool:
    """Median authenticate latency against N at 1 task; False when there is nothing to draw."""
    series = {}
    for store in STORES:
        for r in in_group(records, f"authenticate/{store}"):
            if r.single_task and r.n and r.median_ns:
                series.setdefault((store, r.subject, r.label), []).append((r.n, r.median_ns))
    if not series:
        return False

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    colors = {"memory": "tab:blue", "sqlite": "tab:green", "postgres": "tab:purple"}
    styles = {"tessera": ("-", "o"), "floor": ("--", "s"), "peer": (":", "^")}
    rank = {s: i for i, s in enumerate(SUBJECTS)}
    fig, ax = plt.subplots(figsize=(10, 6), dpi=100)
    for (store, subject, label), points in sorted(
        series.items(), key=lambda item: (STORES.index(item[0][0]), rank[item[0][1]], item[0][2])
    ):
        points.sort()
        line, marker = styles[subject]
        ax.plot(
            [n for n, _ in points],
            [ns for _, ns in points],
            linestyle=line,
            marker=marker,
            color=colors[store],
            linewidth=2 if subject == "tessera" else 1.5,
            label=f"{STORE_NAMES[store]} · {subject}: {label}",
        )
    ns_values = sorted({n for points in series.values() for n, _ in points})
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(ns_values)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: tick_n(round(x))))
    ax.xaxis.set_minor_formatter(NullFormatter())
    if len(ns_values) == 1:
        ax.set_xlim(ns_values[0] / 3, ns_values[0] * 3)
    else:
        ax.set_xlim(ns_values[0] / 1.5, ns_values[-1] * 1.5)
    # At least a decade tall, so that a small change does not look like a steep climb.
    ys = [ns for points in series.values() for _, ns in points]
    low, high = min(ys) / 1.3, max(ys) * 1.3
    if high / low < 10:
        middle = math.sqrt(low * high)
        low, high = middle / math.sqrt(10), middle * math.sqrt(10)
    ax.set_ylim(low, high)
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: tick_ns(y)))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("N (live sessions in the store)")
    ax.set_ylabel("median time per authenticate (log scale)")
    ax.set_title(f"authenticate latency vs N, 1 task — {mode} run, {date}")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(
        fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


# ---------------------------------------------------------------------------------------------
# The report


def tick_n(n: int) -> str:
    text = fmt_n(n)
    return f"$10^{{{text[3:]}}}$" if text.startswith("10^") else text


def tick_ns(ns: float) -> str:
    """An axis label: 50 µs, not 50.0 µs."""
    number, _, unit = fmt_ns(ns).partition(" ")
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return f"{number} {unit}"


def group_rank(group: str) -> tuple[int, str]:
    for i, name in enumerate(GROUP_ORDER):
        if group == name or group.startswith(name + "/"):
            return i, group
    return len(GROUP_ORDER), group


def row_order(r: Record) -> tuple:
    return (
        r.n is not None,
        r.n or 0,
        r.tasks is not None,
        r.tasks or 0,
        r.key,
        SUBJECTS.index(r.subject),
        r.label,
    )


def section(group: str, rows: list[Record]) -> str:
    rows = sorted(rows, key=row_order)
    by_key: dict[str, list[Record]] = {}
    for r in rows:
        by_key.setdefault(r.key, []).append(r)
    columns = [
        ("Case", lambda r, _: md(r.key)),
        ("What", lambda r, _: f"{md(r.label)} · *{r.subject}*"),
        ("median", lambda r, _: fmt_ns(r.median_ns)),
        ("p50", lambda r, _: fmt_ns(r.p50_ns)),
        ("p99", lambda r, _: fmt_ns(r.p99_ns)),
        ("throughput (ops/s)", lambda r, _: fmt_number(r.throughput_per_s)),
        ("ratio", lambda r, same: comparison(r, same)),
        (
            "value",
            lambda r, _: ""
            if r.value is None
            else f"{fmt_number(r.value)} {md(r.unit or '')}".strip(),
        ),
    ]
    cells = [[cell(r, by_key[r.key]) for _, cell in columns] for r in rows]
    shown = [i for i in range(len(columns)) if i < 2 or any(row[i] for row in cells)]
    previous_key = None
    body = []
    for r, row in zip(rows, cells):
        row = [row[i] for i in shown]
        if r.key == previous_key:
            row[0] = ""  # one case, several rows
        previous_key = r.key
        body.append(row)
    out = [f"### {group}", "", table([columns[i][0] for i in shown], body)]
    notes = list(dict.fromkeys(r.notes.strip() for r in rows if r.notes and r.notes.strip()))
    if notes:
        out += [""] + [f"- {note}" for note in notes]
    return "\n".join(out)


def run_table(run: Run | None, reruns: list[Run], records: list[Record]) -> str:
    run = run or Run()
    # The session counts authenticate was measured at (other groups use their own N).
    ns = sorted({r.n for r in records if r.n is not None and r.group.startswith("authenticate/")})
    mode = run.mode
    if ns:
        mode += f" (authenticate at N = {', '.join(fmt_n(n) for n in ns)})"
    rows = [
        ("Date", run.started_at),
        ("Mode", mode),
        ("Command", f"`{run.command}`"),
        ("Duration", fmt_duration(run.duration_s) + step_times(run.steps)),
        ("Git commit", f"`{run.git_commit}`"),
        ("rustc", run.rustc),
        *machine(),
    ]
    failed = [s["name"] for s in run.steps if s.get("ok") is False]
    if failed:
        rows.append(("⚠️ Failed", f"{', '.join(failed)} (figures missing or partial)"))
    for rerun in sorted(reruns, key=lambda r: r.started_at):
        failed = any(s.get("ok") is False for s in rerun.steps)
        rows.append(
            (
                "Re-run",
                f"`{rerun.command}` at {rerun.started_at} ({rerun.mode}, `{rerun.git_commit}`, "
                f"{fmt_duration(rerun.duration_s)})" + (" ⚠️ failed" if failed else ""),
            )
        )
    return table(["", ""], [[f"**{k}**", md(v)] for k, v in rows])


def step_times(steps: list) -> str:
    times = [
        f"{s['name']} {fmt_duration(s['duration_s'])}"
        for s in steps
        if isinstance(s.get("duration_s"), (int, float))
    ]
    return f" ({', '.join(times)})" if times else ""


INTRO = """\
Each benchmark measures Tessera next to a **floor**, the least work the same operation needs on
the same machine and storage (e.g. an indexed point select, one round trip, a trivial HTTP
handler), and where one exists a **peer** doing the same job (tower-sessions): Tessera, floors
and peers run in the same run, so they share its conditions. *ratio* = Tessera / floor (1× would
mean Tessera adds nothing to the floor); for peers, *speed-up* = peer / Tessera. Times are per
operation: *median* is the median over samples of the time per operation (for concurrent cases,
wall-clock time per operation, i.e. 1 / throughput), *p50* and *p99* are percentiles of the
individual operations. Figures from quick runs are noisier and stop at smaller N."""


def report(
    records: list[Record],
    run: Run | None,
    reruns: list[Run],
    plot_link: str | None,
    analysis: str | None,
) -> str:
    mode = (run or Run()).mode
    out = [
        "<!-- Generated by `cargo xtask bench` (xtask/bench/report.py): do not edit by hand. "
        "Hand-written analysis goes in docs/BENCHMARKS-analysis.md. -->",
        "",
        "# Benchmarks",
        "",
        INTRO,
        "",
        "## Run",
        "",
        run_table(run, reruns, records),
        "",
        "## Targets",
        "",
        "Each target is judged at every N and task count of the run: the worst case decides and is "
        "shown first, then the others.",
        "",
        table(["Target", "Measured", "Met?"], [t.row() for t in targets(records, mode)]),
        "",
        "## Results",
    ]
    groups: dict[str, list[Record]] = {}
    for r in records:
        groups.setdefault(r.group, []).append(r)
    plotted = False
    for group in sorted(groups, key=group_rank):
        if plot_link and not plotted and group.startswith("authenticate/"):
            out += [
                "",
                f"![authenticate latency vs N]({plot_link})",
                "",
                "*Median time per `authenticate` at 1 task against the number of live sessions: "
                "Tessera solid, floors dashed, peers dotted, one color per store.*",
            ]
            plotted = True
        out += ["", section(group, groups[group])]
    if not groups:
        out += ["", "No results: run `cargo xtask bench`."]
    out += [
        "",
        "## How to reproduce",
        "",
        "```sh",
        "cargo xtask bench           # full run: N up to 10^6",
        "cargo xtask bench --quick   # minutes: fewer samples, smaller N",
        "```",
        "",
        "`cargo xtask bench --only <name>` (token, jwt, authenticate, sessions, http, peer) re-runs "
        "one benchmark and regenerates this file from its new results and the others' last ones. "
        "Benchmarks need PostgreSQL (`TESSERA_BENCH_DATABASE_URL`, default "
        "`postgres://postgres@127.0.0.1:5432/postgres`); the task installs `wrk` and, in "
        "`target/bench-venv`, matplotlib. Results are in `target/bench-results/`.",
    ]
    if analysis:
        out += ["", analysis.strip()]
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, required=True, help="the results directory")
    parser.add_argument("--out", type=Path, required=True, help="the markdown file to write")
    parser.add_argument("--plot", type=Path, required=True, help="the PNG file to write")
    parser.add_argument(
        "--analysis",
        type=Path,
        help="hand-written analysis to append (default: BENCHMARKS-analysis.md beside --out)",
    )
    args = parser.parse_args()

    if not args.results.is_dir():
        print(f"report.py: {args.results} is not a directory", file=sys.stderr)
        return 1
    records, run, reruns, errors = load(args.results)
    if errors:
        for error in errors:
            print(f"report.py: malformed result {error}", file=sys.stderr)
        print(f"report.py: {len(errors)} malformed file(s); nothing written", file=sys.stderr)
        return 1
    if not records:
        print(f"report.py: warning: no results in {args.results}", file=sys.stderr)
    if run is None and reruns:
        run = max(reruns, key=lambda r: r.started_at)
        reruns = [r for r in reruns if r is not run]

    mode = (run or Run()).mode
    date = (run or Run()).started_at
    plot_link = None
    if plot(records, args.plot, mode, date):
        plot_link = os.path.relpath(args.plot.resolve(), args.out.resolve().parent)
        plot_link = Path(plot_link).as_posix()
    analysis_path = args.analysis or args.out.parent / "BENCHMARKS-analysis.md"
    analysis = analysis_path.read_text(encoding="utf-8") if analysis_path.is_file() else None

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report(records, run, reruns, plot_link, analysis), encoding="utf-8")
    print(f"report.py: wrote {args.out}" + (f" and {args.plot}" if plot_link else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
