#!/usr/bin/env python3
"""Swan benchmark: Swan's user paths side by side with plain in-process DuckDB on the same data.

Run from anywhere after building (see bench/README.md):

    cmake -S . -B build -G Ninja && ninja -C build swan swan_raw_duckdb
    python3 bench/run.py                      # 5M rows, 3 repetitions (~2-4 min on 2 cores)
    python3 bench/run.py --rows 200000 --repeat 1   # quick check (~5 s)
    python3 bench/run.py --big                # also: peak server RSS importing ~5 GB (+5-10 min)

Python 3 standard library only. Prints one line per case and writes the results JSON to
bench/results/<UTC timestamp>.json and bench/results/latest.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DATA = BENCH / "data"
RESULTS = BENCH / "results"

PROJECT = "bench"
PLAIN_TABLE = "in.bench.plain"
PK_TABLE = "in.bench.orders"
SMALL_TABLE = "in.bench.small"
GROUP_BY_SQL = ('SELECT status, country, count(*), sum(quantity*unit_price) FROM "{table}" GROUP BY ALL')

# Targets: ("ratio", x) = swan_ms / baseline_ms <= x; ("ms", x) = swan_ms <= x; ("mib", x) = value <= x.
# A ratio is reported for each repetition's pair (swan[i] / baseline[i], measured back to back) as
# well as for the medians; PAIR_TARGETS bounds the worst pair, so a target must hold run after run.
TARGETS = {
    "import_plain": ("ratio", 1.1),
    "upsert_large": ("ratio", 1.3),
    "upsert_small_http": ("ms", 150.0),
    "groupby": ("ratio", 1.2),
    "rss_idle": ("mib", 100.0),
    "big_import_plain_rss": ("mib", 1024.0),
    "big_import_pk_rss": ("mib", 1024.0),
}
PAIR_TARGETS = {
    "import_plain": 1.15,
}


class BenchError(Exception):
    """A failed operation: the command (or HTTP call) and the exact error, to report as is."""

    def __init__(self, what: str, error: str):
        super().__init__(f"{what}\n{error}")
        self.what = what
        self.error = error


# --------------------------------------------------------------------------------------------
# Small helpers


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def human_count(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def median(values: list[float]) -> Optional[float]:
    return statistics.median(values) if values else None


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM (and friends) of a process in KiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key.startswith("Vm") and rest.strip().endswith("kB"):
                out[key] = int(rest.split()[0])
    return out


def warm_page_cache(path: Path) -> None:
    """Reads a file once so that neither side of a comparison pays the cold disk read."""
    with open(path, "rb") as f:
        while f.read(8 << 20):
            pass


# --------------------------------------------------------------------------------------------
# The raw DuckDB baseline tool


class RawDuckDB:
    def __init__(self, binary: Path, workdir: Path):
        self.binary = binary
        self.workdir = workdir

    def run(self, *sqls: str, timeout: float = 7200) -> list[tuple[float, str]]:
        """Runs the statements in one process; returns (ms, first value) per statement."""
        cmd = [str(self.binary), *sqls]
        proc = subprocess.run(cmd, cwd=self.workdir, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise BenchError("raw DuckDB baseline failed: " + " ".join(repr(s) for s in sqls),
                             (proc.stderr or proc.stdout).strip())
        out = []
        for line in proc.stdout.splitlines():
            ms, _, value = line.partition("\t")
            out.append((float(ms), value))
        if len(out) != len(sqls):
            raise BenchError("raw DuckDB baseline printed an unexpected answer", proc.stdout)
        return out


# --------------------------------------------------------------------------------------------
# Data generation


STATUSES = ["new", "paid", "shipped", "delivered", "cancelled", "returned"]
COUNTRIES = ["US", "DE", "FR", "GB", "CZ", "PL", "ES", "IT", "NL", "SE", "JP", "BR", "CA", "AU", "IN"]
MAKES = ["Wireless", "Compact", "Premium", "Portable", "Classic", "Smart", "Basic", "Pro"]
PRODUCTS = ["Widget", "Gadget", "Cable", "Adapter", "Monitor", "Keyboard", "Mouse", "Charger", "Headset",
            "Speaker"]
NOTES = ["call first", "gift wrap requested", "leave at the back door", "fragile, handle with care",
         "send an invoice copy", "express shipping upgrade", "pickup at the warehouse desk",
         "deliver after 5 pm"]


def pick(values: list[str], key: str, seed: int) -> str:
    items = ", ".join(sql_literal(v) for v in values)
    return f"([{items}])[1 + CAST(hash({key}, {seed}) % {len(values)} AS INTEGER)]"


def order_columns(key: str, salt: int) -> str:
    """The ten columns of an order row whose id is the SQL expression `key`; `salt` varies values."""
    s = salt
    return ", ".join([
        f"CAST({key} AS BIGINT) AS id",
        f"CAST(1 + hash({key}, {s + 1}) % 2000000 AS BIGINT) AS customer_id",
        f"DATE '2021-01-01' + CAST(hash({key}, {s + 2}) % 1461 AS INTEGER) AS order_date",
        f"{pick(STATUSES, key, s + 3)} AS status",
        f"{pick(COUNTRIES, key, s + 4)} AS country",
        f"{pick(MAKES, key, s + 12)} || ' ' || {pick(PRODUCTS, key, s + 5)} || ' ' || lpad(CAST(hash({key}, {s + 6}) % 50000 AS VARCHAR), 5, '0') AS product",
        f"CAST(1 + hash({key}, {s + 7}) % 20 AS INTEGER) AS quantity",
        f"round(1 + (hash({key}, {s + 8}) % 999999) / 100.0, 2) AS unit_price",
        f"round(CAST(hash({key}, {s + 9}) % 5 AS DOUBLE) * 0.05, 2) AS discount",
        f"{pick(NOTES, key, s + 10)} || ' ref ' || CAST(10000 + hash({key}, {s + 11}) % 90000 AS VARCHAR) AS note",
    ])


def base_csv_sql(rows: int, path: Path) -> str:
    return (f"COPY (SELECT {order_columns('i', 0)} FROM range(1, {rows + 1}) t(i) ORDER BY i) "
            f"TO {sql_literal(str(path))} (FORMAT csv, HEADER)")


def batch_csv_sql(rows: int, batch: int, path: Path) -> str:
    """A batch of `batch` rows: half of them existing ids spread over 1..rows, half new ids > rows.

    Even positions j update id 1 + (j/2)*stride; odd positions insert id rows + 1 + j/2.
    """
    half = batch // 2
    stride = max(1, rows // max(1, half))
    key = (f"CASE WHEN j % 2 = 0 THEN 1 + (j // 2) * {stride} "
           f"ELSE {rows} + 1 + j // 2 END")
    return (f"COPY (SELECT {order_columns('k', 100)} FROM "
            f"(SELECT j, {key} AS k FROM range(0, {2 * half}) t(j)) ORDER BY j) "
            f"TO {sql_literal(str(path))} (FORMAT csv, HEADER)")


def ensure_file(raw: RawDuckDB, path: Path, sql_for) -> dict:
    if path.exists():
        log(f"data: {path.name} exists ({path.stat().st_size / 1e6:.0f} MB), skipping generation")
        return {"file": path.name, "bytes": path.stat().st_size, "generated_ms": None}
    tmp = path.with_suffix(".tmp")
    log(f"data: generating {path.name} ...")
    (ms, _), = raw.run(sql_for(tmp))
    os.replace(tmp, path)
    log(f"data: {path.name} written in {ms / 1000:.1f} s ({path.stat().st_size / 1e6:.0f} MB)")
    return {"file": path.name, "bytes": path.stat().st_size, "generated_ms": round(ms, 1)}


# --------------------------------------------------------------------------------------------
# The Swan server and its clients


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SwanServer:
    def __init__(self, binary: Path, data_dir: Path):
        self.binary = binary
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: Optional[subprocess.Popen] = None
        self.admin_token = ""

    def start(self, timeout: float = 60) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = self.data_dir.parent / (self.data_dir.name + ".stdout")
        self.stderr_path = self.data_dir.parent / (self.data_dir.name + ".stderr")
        cmd = [str(self.binary), "server", "--data", str(self.data_dir), "--listen", f"127.0.0.1:{self.port}",
               "--quiet"]
        self.cmd = cmd
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError("swan server exited at start: " + " ".join(cmd),
                                 self.stderr_path.read_text(errors="replace").strip())
            text = self.stdout_path.read_text(errors="replace")
            for line in text.splitlines():
                if line.startswith("admin token: "):
                    self.admin_token = line.split(":", 1)[1].strip()
            if self.admin_token and "listening on" in text:
                try:
                    with urllib.request.urlopen(self.url + "/v1/health", timeout=2) as r:
                        if r.status == 200:
                            return
                except (urllib.error.URLError, ConnectionError):
                    pass
            time.sleep(0.05)
        raise BenchError("swan server did not become healthy: " + " ".join(cmd),
                         self.stderr_path.read_text(errors="replace").strip())

    def status(self) -> dict[str, int]:
        return proc_status(self.proc.pid)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Api:
    """Direct HTTP calls (urllib) with a token."""

    def __init__(self, url: str, token: str):
        self.url = url
        self.token = token

    def call(self, method: str, path: str, body=None, *, file: Optional[Path] = None,
             timeout: float = 7200) -> tuple[dict, float]:
        """Returns (JSON answer, wall ms of the call). A file body is streamed from disk."""
        headers = {"Authorization": f"Bearer {self.token}"}
        handle = None
        data = None
        if file is not None:
            handle = open(file, "rb")
            data = handle
            headers["Content-Type"] = "application/octet-stream"
            headers["Content-Length"] = str(file.stat().st_size)
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(req, timeout=timeout) as r:
                    raw = r.read()
                ms = (time.perf_counter() - start) * 1000
            except urllib.error.HTTPError as e:
                raise BenchError(f"{method} {self.url}{path}" + (f" (body: {file})" if file else
                                                                  f" {json.dumps(body)}" if body else ""),
                                 f"HTTP {e.code}: {e.read().decode(errors='replace')}") from None
            except (urllib.error.URLError, ConnectionError) as e:
                raise BenchError(f"{method} {self.url}{path}", f"connection failed: {e}") from None
        finally:
            if handle:
                handle.close()
        return (json.loads(raw) if raw else {}), ms


class Cli:
    """The `swan` CLI as a user runs it, with SWAN_URL / SWAN_TOKEN / SWAN_PROJECT."""

    def __init__(self, binary: Path, url: str, token: str, project: str):
        self.binary = binary
        self.env = dict(os.environ, SWAN_URL=url, SWAN_TOKEN=token, SWAN_PROJECT=project)

    def run(self, *args: str, timeout: float = 7200) -> tuple[dict, float]:
        cmd = [str(self.binary), *args, "--json"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout)
        ms = (time.perf_counter() - start) * 1000
        if proc.returncode != 0:
            raise BenchError("SWAN_URL=... SWAN_TOKEN=... SWAN_PROJECT=... " + " ".join(cmd[:-1]) +
                             f"  (exit {proc.returncode})", (proc.stderr or proc.stdout).strip())
        try:
            answer = json.loads(proc.stdout) if proc.stdout.strip() else {}
        except json.JSONDecodeError:
            answer = {"stdout": proc.stdout}
        return answer, ms


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class Case:
    key: str
    name: str
    swan: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    unit: str = "ms"
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def target(self):
        return TARGETS.get(self.key)

    def pair_ratios(self) -> list[float]:
        if len(self.swan) != len(self.baseline):
            return []
        return [s / b for s, b in zip(self.swan, self.baseline) if b]

    def summary(self) -> dict:
        s, b = median(self.swan), median(self.baseline)
        ratio = s / b if s is not None and b else None
        pairs = self.pair_ratios()
        verdict = None
        if self.target and s is not None:
            kind, limit = self.target
            value = ratio if kind == "ratio" else s
            verdict = value is not None and value <= limit
            if verdict and self.key in PAIR_TARGETS and pairs:
                verdict = max(pairs) <= PAIR_TARGETS[self.key]
        out = {
            "name": self.name,
            "unit": self.unit,
            "swan": round(s, 1) if s is not None else None,
            "baseline": round(b, 1) if b is not None else None,
            "ratio": round(ratio, 3) if ratio is not None else None,
            "target": {"kind": self.target[0], "max": self.target[1]} if self.target else None,
            "pass": verdict,
            "pair_ratios": [round(x, 3) for x in pairs],
            "ratio_min": round(min(pairs), 3) if pairs else None,
            "ratio_max": round(max(pairs), 3) if pairs else None,
            "pair_target_max": PAIR_TARGETS.get(self.key),
            "swan_samples": [round(x, 1) for x in self.swan],
            "baseline_samples": [round(x, 1) for x in self.baseline],
        }
        if self.note:
            out["note"] = self.note
        if self.extra:
            out.update(self.extra)
        return out


def format_line(c: Case) -> str:
    s = c.summary()

    def num(v):
        return "-" if v is None else f"{v:.1f}"

    if c.target:
        kind, limit = c.target
        target = {"ratio": f"<= {limit:g}x", "ms": f"<= {limit:g} ms", "mib": f"<= {limit:g} MiB"}[kind]
        if c.key in PAIR_TARGETS:
            target += f", each <= {PAIR_TARGETS[c.key]:g}x"
        verdict = "PASS" if s["pass"] else "MISS"
    else:
        target, verdict = "-", "-"
    ratio = "-" if s["ratio"] is None else f"{s['ratio']:.2f}x"
    spread = "-" if s["ratio_min"] is None else f"{s['ratio_min']:.2f}-{s['ratio_max']:.2f}x"
    return (f"{c.name:<34} {num(s['swan']):>10} {num(s['baseline']):>11} {ratio:>7} {spread:>12}  "
            f"{target:<25} {verdict}")


HEADER = (f"{'case':<34} {'swan':>10} {'baseline':>11} {'ratio':>7} {'pairs min-max':>12}  "
          f"{'target':<25} result")


def machine_facts() -> dict:
    facts = {"nproc": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release()}
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    facts["memory_mib"] = int(line.split()[1]) // 1024
    except OSError:
        pass
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    facts["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return facts


def git_facts() -> dict:
    def git(*args):
        p = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return p.stdout.strip() if p.returncode == 0 else None

    return {"commit": git("rev-parse", "--short", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no", "--", "src", "CMakeLists.txt"))}


def write_results(doc: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{stamp}.json"
    text = json.dumps(doc, indent=1) + "\n"
    for target in (path, RESULTS / "latest.json"):
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, target)
    return path


# --------------------------------------------------------------------------------------------
# The benchmark


def table_path(table: str, suffix: str = "") -> str:
    return f"/v1/projects/{PROJECT}/tables/{urllib.parse.quote(table)}{suffix}"


def expect_rows(answer: dict, expected: int, what: str) -> int:
    got = answer.get("table", {}).get("row_count")
    if got != expected:
        raise BenchError(what, f"row_count is {got}, expected {expected}: {json.dumps(answer)[:2000]}")
    return answer["table"]["version"]


def run_benchmark(args, build: Path, workdir: Path, files: dict, doc: dict, cases: list[Case]) -> None:
    """Appends each case to `cases` when it starts (so a failure still reports what ran)."""
    rows, large, small = args.rows, files["large_batch_rows"], files["small_batch_rows"]
    base_csv, large_csv, small_csv = (DATA / files[k]["file"] for k in ("base", "large", "small"))
    raw_dir = workdir / "raw"
    raw_dir.mkdir()
    raw = RawDuckDB(build / "swan_raw_duckdb", raw_dir)
    base_parquet = raw_dir / "base.parquet"

    server = SwanServer(build / "swan", workdir / "swan-data")
    server.start()
    try:
        idle = server.status()
        rss_idle = Case("rss_idle", "server RSS idle (MiB)", unit="MiB", swan=[idle["VmRSS"] / 1024])
        cases.append(rss_idle)
        log(f"server pid {server.proc.pid} at {server.url}; idle VmRSS {idle['VmRSS'] / 1024:.1f} MiB")
        admin = Api(server.url, server.admin_token)
        created, _ = admin.call("POST", "/v1/projects", {"name": PROJECT, "description": "benchmark"})
        token = created["token"]["secret"]
        api = Api(server.url, token)
        cli = Cli(build / "swan", server.url, token, PROJECT)
        R = args.repeat
        N = human_count(rows)

        for f in (base_csv, large_csv, small_csv):
            warm_page_cache(f)

        # ---- import: full load of the base CSV -------------------------------------------------
        imp = Case("import_plain", f"import {N} (no PK)",
                   note="CLI `swan table import` (HTTP upload + load) vs raw COPY read_csv -> parquet")
        imp_pk = Case("import_pk", f"import {N} (PK id)", note="CLI `swan table import --primary-key id`")
        cases += [imp, imp_pk]
        raw_import = (f"COPY (FROM read_csv({sql_literal(str(base_csv))})) TO {sql_literal(str(base_parquet))} "
                      f"(FORMAT parquet)")
        base_version = None
        # One untimed round first, as a long-running server has had: the server's first upload
        # lands in new page-cache pages, later ones in its kept upload file (docs/architecture.md,
        # "Upload spool"), and the raw tool's first run reads the CSV's pages in.
        raw.run(raw_import)
        answer, _ = cli.run("table", "import", PLAIN_TABLE, str(base_csv))
        expect_rows(answer, rows, f"swan table import {PLAIN_TABLE} {base_csv} (warm-up)")
        for rep in range(R):
            steps = ["raw", "swan"] if rep % 2 == 0 else ["swan", "raw"]
            for step in steps:
                if step == "raw":
                    (ms, _), = raw.run(raw_import)
                    imp.baseline.append(ms)
                else:
                    answer, ms = cli.run("table", "import", PLAIN_TABLE, str(base_csv))
                    expect_rows(answer, rows, f"swan table import {PLAIN_TABLE} {base_csv}")
                    imp.swan.append(ms)
                    answer, ms = cli.run("table", "import", PK_TABLE, str(base_csv), "--primary-key", "id")
                    base_version = expect_rows(answer, rows,
                                               f"swan table import {PK_TABLE} {base_csv} --primary-key id")
                    imp_pk.swan.append(ms)
            log(f"import rep {rep + 1}/{R}: swan {imp.swan[-1]:.0f} ms, pk {imp_pk.swan[-1]:.0f} ms, "
                f"raw {imp.baseline[-1]:.0f} ms")
        restore_path = table_path(PK_TABLE, f"/versions/{base_version}/restore")

        def restore():
            answer, ms = api.call("POST", restore_path)
            expect_rows(answer, rows, f"POST {restore_path}")
            return ms

        def raw_upsert(batch_csv: Path, batch_rows: int, case: Case) -> float:
            delta = raw_dir / "delta.parquet"
            (ms1, _), (ms2, matched) = raw.run(
                f"COPY (SELECT * FROM read_csv({sql_literal(str(batch_csv))}) "
                f"QUALIFY row_number() OVER (PARTITION BY id ORDER BY id) = 1) TO {sql_literal(str(delta))} "
                f"(FORMAT parquet)",
                f"SELECT count(*) FROM {sql_literal(str(delta))} d SEMI JOIN "
                f"read_parquet({sql_literal(str(base_parquet))}) b USING (id)")
            if int(matched) != batch_rows // 2:
                raise BenchError("raw DuckDB upsert baseline", f"matched {matched} keys, expected {batch_rows // 2}")
            case.extra.setdefault("baseline_dedupe_write_ms", []).append(round(ms1, 1))
            case.extra.setdefault("baseline_semi_join_ms", []).append(round(ms2, 1))
            return ms1 + ms2

        # ---- upsert of the large batch ------------------------------------------------------------
        L = human_count(large)
        up = Case("upsert_large", f"upsert {L} into {N}",
                  note="CLI `swan table import --incremental` vs raw dedupe->parquet + semi-join count")
        compact = Case("compact_after_upsert", f"compact after upsert {L}",
                       note="POST .../compact of base + large delta (HTTP call)")
        cases += [up, compact]
        restore_ms = []
        for rep in range(R):
            restore_ms.append(restore())
            steps = ["raw", "swan"] if rep % 2 == 0 else ["swan", "raw"]
            for step in steps:
                if step == "raw":
                    up.baseline.append(raw_upsert(large_csv, large, up))
                else:
                    answer, ms = cli.run("table", "import", PK_TABLE, str(large_csv), "--incremental")
                    expect_rows(answer, rows + large // 2, f"swan table import {PK_TABLE} {large_csv} --incremental")
                    up.swan.append(ms)
            answer, ms = api.call("POST", table_path(PK_TABLE, "/compact"))
            expect_rows(answer, rows + large // 2, f"POST {table_path(PK_TABLE, '/compact')}")
            compact.swan.append(ms)
            log(f"upsert {L} rep {rep + 1}/{R}: swan {up.swan[-1]:.0f} ms, raw {up.baseline[-1]:.0f} ms, "
                f"compact {compact.swan[-1]:.0f} ms")

        # ---- upsert of the small batch: over HTTP directly (headline) and via the CLI -------------
        S = human_count(small)
        small_http = Case("upsert_small_http", f"upsert {S} into {N} (HTTP)",
                          note="direct POST .../import?mode=incremental, body streamed from the file")
        small_cli = Case("upsert_small_cli", f"upsert {S} into {N} (CLI)", note="CLI `swan table import --incremental`")
        small_full = Case("import_small", f"import {S} (no PK) (HTTP)",
                          note="diagnostic: the fixed cost of a load, POST .../in.bench.small/import (full, no key)")
        cases += [small_http, small_cli, small_full]
        import_path = table_path(PK_TABLE, "/import?mode=incremental")
        for rep in range(R):
            restore_ms.append(restore())
            small_http.baseline.append(raw_upsert(small_csv, small, small_http))
            answer, ms = api.call("POST", import_path, file=small_csv)
            expect_rows(answer, rows + small // 2, f"POST {import_path} (body: {small_csv})")
            small_http.swan.append(ms)
            restore_ms.append(restore())
            answer, ms = cli.run("table", "import", PK_TABLE, str(small_csv), "--incremental")
            expect_rows(answer, rows + small // 2, f"swan table import {PK_TABLE} {small_csv} --incremental")
            small_cli.swan.append(ms)
            small_cli.baseline.append(small_http.baseline[-1])
            answer, ms = api.call("POST", table_path(SMALL_TABLE, "/import"), file=small_csv)
            expect_rows(answer, small, f"POST {table_path(SMALL_TABLE, '/import')} (body: {small_csv})")
            small_full.swan.append(ms)
            log(f"upsert {S} rep {rep + 1}/{R}: http {small_http.swan[-1]:.0f} ms, cli {small_cli.swan[-1]:.0f} ms, "
                f"raw {small_http.baseline[-1]:.0f} ms")

        # ---- group-by over the compacted table vs raw Parquet of the same rows --------------------
        restore_ms.append(restore())
        answer, compact_ms = api.call("POST", table_path(PK_TABLE, "/compact"))
        expect_rows(answer, rows, f"POST {table_path(PK_TABLE, '/compact')}")
        gb = Case("groupby", f"group-by {N}", note="POST /sql (wall of the HTTP call) vs raw query over base.parquet")
        sql = GROUP_BY_SQL.format(table=PK_TABLE)
        raw_sql = GROUP_BY_SQL.replace('"{table}"', f"read_parquet({sql_literal(str(base_parquet))})")
        server_elapsed = []
        gb.extra = {"server_elapsed_ms": server_elapsed, "compact_before_ms": round(compact_ms, 1)}
        cases.append(gb)
        # A query of ~80 ms moves by +-20 ms with the machine: three times the repetitions, so that
        # the median is the query's and not one noisy moment's.
        R_short = 3 * R
        for rep in range(R_short):
            steps = ["raw", "swan"] if rep % 2 == 0 else ["swan", "raw"]
            for step in steps:
                if step == "raw":
                    (ms, _), = raw.run(raw_sql)
                    gb.baseline.append(ms)
                else:
                    answer, ms = api.call("POST", f"/v1/projects/{PROJECT}/sql", {"sql": sql, "limit": 100000})
                    gb.swan.append(ms)
                    server_elapsed.append(answer.get("elapsed_ms"))
            log(f"group-by rep {rep + 1}/{R_short}: swan {gb.swan[-1]:.0f} ms (server elapsed {server_elapsed[-1]} ms), "
                f"raw {gb.baseline[-1]:.0f} ms")
        # Same answer on both sides?
        groups = len(answer["rows"])
        total = sum(int(r[2]) for r in answer["rows"])
        (_, raw_groups), (_, raw_total) = raw.run(f"SELECT count(*) FROM ({raw_sql})",
                                                  f"SELECT sum(\"count_star()\") FROM ({raw_sql})")
        if groups != int(raw_groups) or total != int(raw_total) or total != rows:
            raise BenchError(f"POST /v1/projects/{PROJECT}/sql {sql}",
                             f"answer differs from raw DuckDB: {groups} groups / {total} rows vs "
                             f"{raw_groups} / {raw_total} (expected {rows} rows)")
        gb.extra.update(groups=groups)

        # ---- diagnostic: the fixed cost of a SQL call ---------------------------------------------
        fixed = Case("sql_fixed", "SQL SELECT 1 (HTTP)", note="diagnostic: the fixed cost of POST /sql")
        fixed.extra = {"server_elapsed_ms": []}
        cases.append(fixed)
        for rep in range(max(R, 5)):
            answer, ms = api.call("POST", f"/v1/projects/{PROJECT}/sql", {"sql": "SELECT 1"})
            fixed.swan.append(ms)
            fixed.extra["server_elapsed_ms"].append(answer.get("elapsed_ms"))

        final = server.status()
        rss_peak = Case("rss_peak", "server RSS peak (MiB)", unit="MiB", swan=[final["VmHWM"] / 1024],
                        note="VmHWM after all the runs")
        cases.append(rss_peak)
        doc["restore_ms_median"] = round(median(restore_ms), 1)
        doc["server_rss_final_mib"] = round(final["VmRSS"] / 1024, 1)
    finally:
        if server.proc is not None and server.proc.poll() is None:
            doc["server_vm_hwm_mib_at_end"] = round(server.status()["VmHWM"] / 1024, 1)
        server.stop()


def run_big(args, build: Path, workdir: Path, doc: dict, cases: list[Case]) -> None:
    raw = RawDuckDB(build / "swan_raw_duckdb", DATA)
    big_rows = args.big_rows
    big_csv = DATA / f"orders_{big_rows}.csv"
    doc["files"]["big"] = ensure_file(raw, big_csv, lambda p: base_csv_sql(big_rows, p))
    B = human_count(big_rows)
    for key, table, extra_args, label in (("big_import_plain_rss", PLAIN_TABLE, [], "no PK"),
                                          ("big_import_pk_rss", PK_TABLE, ["--primary-key", "id"], "PK id")):
        # A fresh server for each import: its VmHWM is the peak of that import alone.
        server = SwanServer(build / "swan", workdir / f"swan-big-{key}")
        server.start()
        try:
            admin = Api(server.url, server.admin_token)
            created, _ = admin.call("POST", "/v1/projects", {"name": PROJECT})
            cli = Cli(build / "swan", server.url, created["token"]["secret"], PROJECT)
            log(f"big: importing {big_csv.name} ({label}) ...")
            answer, ms = cli.run("table", "import", table, str(big_csv), *extra_args, timeout=4 * 3600)
            expect_rows(answer, big_rows, f"swan table import {table} {big_csv} {' '.join(extra_args)}")
            peak = server.status()["VmHWM"] / 1024
            log(f"big: {label} import took {ms / 1000:.1f} s, peak VmHWM {peak:.0f} MiB")
            cases.append(Case(key, f"import {B} ({label}) RSS peak (MiB)", unit="MiB", swan=[peak],
                              note=f"VmHWM of a fresh server importing {big_csv.name}",
                              extra={"import_ms": round(ms, 1)}))
        finally:
            if server.proc is not None and server.proc.poll() is None:
                doc.setdefault("big_vm_hwm_mib", {})[key] = round(server.status()["VmHWM"] / 1024, 1)
            server.stop()
            shutil.rmtree(server.data_dir, ignore_errors=True)


def json_array_sql(rows: int, path: Path) -> str:
    """The order rows as one JSON array of objects (what an API export or a dump looks like)."""
    return (f"COPY (SELECT {order_columns('i', 0)} FROM range(1, {rows + 1}) t(i) ORDER BY i) "
            f"TO {sql_literal(str(path))} (FORMAT json, ARRAY true)")


def run_big_json(args, build: Path, workdir: Path, doc: dict, cases: list[Case]) -> None:
    """A JSON array of ~100 MB and one of ~1 GB, each into a fresh server: the peak RSS of the
    two must be about the same (constant memory), and the time is set against raw DuckDB."""
    raw = RawDuckDB(build / "swan_raw_duckdb", DATA)
    for rows in (args.json_rows // 10, args.json_rows):
        path = DATA / f"orders_{rows}.json"
        doc["files"][f"json_{rows}"] = ensure_file(raw, path, lambda p, r=rows: json_array_sql(r, p))
        R = human_count(rows)
        (raw_ms, _), = raw.run(f"COPY (FROM read_json({sql_literal(str(path))}, format = 'array', "
                               f"records = true)) TO {sql_literal(str(workdir / 'json.parquet'))} "
                               f"(FORMAT parquet)")
        server = SwanServer(build / "swan", workdir / f"swan-json-{rows}")
        server.start()
        try:
            admin = Api(server.url, server.admin_token)
            created, _ = admin.call("POST", "/v1/projects", {"name": PROJECT})
            cli = Cli(build / "swan", server.url, created["token"]["secret"], PROJECT)
            answer, ms = cli.run("table", "import", PLAIN_TABLE, str(path), timeout=3600)
            expect_rows(answer, rows, f"swan table import {PLAIN_TABLE} {path}")
            peak = server.status()["VmHWM"] / 1024
            log(f"json: {path.name} ({path.stat().st_size / 1e6:.0f} MB) imported in "
                f"{ms / 1000:.1f} s (raw DuckDB {raw_ms / 1000:.1f} s), peak VmHWM {peak:.0f} MiB")
            cases.append(Case(f"json_{rows}", f"import JSON array {R} rows", swan=[ms],
                              baseline=[raw_ms], note=f"{path.stat().st_size / 1e6:.0f} MB, one array"))
            cases.append(Case(f"json_{rows}_rss", f"import JSON array {R} RSS peak (MiB)", unit="MiB",
                              swan=[peak], note="VmHWM of a fresh server"))
        finally:
            server.stop()
            shutil.rmtree(server.data_dir, ignore_errors=True)


def snapshot_binaries(build: Path, dest: Path) -> Path:
    dest.mkdir(parents=True)
    for attempt in range(30):
        ok = True
        for name in ("swan", "swan_raw_duckdb"):
            try:
                shutil.copy2(build / name, dest / name)
                subprocess.run([str(dest / name), "--version" if name == "swan" else "SELECT 1"],
                               capture_output=True, check=True, timeout=60)
            except (OSError, subprocess.SubprocessError):
                ok = False
        if ok:
            return dest
        log(f"{build} looks mid-rebuild; retrying the copy of the binaries in 10 s")
        time.sleep(10)
    raise BenchError(f"cannot copy working binaries from {build}", "swan or swan_raw_duckdb does not run")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000,
                        help="rows of the base table (default 5000000); the batches are 20%% and 0.2%% of it")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per case; the median is reported")
    parser.add_argument("--big", action="store_true",
                        help="also import a ~5 GB CSV (--big-rows rows) and report the server's peak RSS")
    parser.add_argument("--big-rows", type=int, default=50_000_000, help=argparse.SUPPRESS)
    parser.add_argument("--big-json", action="store_true",
                        help="also import a ~100 MB and a ~1 GB JSON array and report the peak RSS of each")
    parser.add_argument("--json-rows", type=int, default=4_000_000, help=argparse.SUPPRESS)
    parser.add_argument("--build", type=Path, default=ROOT / "build", help="build directory (default ./build)")
    parser.add_argument("--data-only", action="store_true", help="only generate the data files, then exit")
    parser.add_argument("--keep", action="store_true", help="keep the server's data directory (bench/data/run-*)")
    args = parser.parse_args()
    if args.rows < 1000 or args.repeat < 1:
        parser.error("--rows must be >= 1000 and --repeat >= 1")
    build = args.build.resolve()
    for b in ("swan", "swan_raw_duckdb"):
        if not (build / b).exists():
            print(f"missing {build / b}: build first with\n  cmake -S {ROOT} -B {build} -G Ninja && "
                  f"ninja -C {build} swan swan_raw_duckdb", file=sys.stderr)
            return 2

    DATA.mkdir(parents=True, exist_ok=True)
    large = args.rows // 5
    small = max(2, args.rows // 500)
    large -= large % 2
    small -= small % 2
    started = time.time()
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=DATA))
    # Run private copies of the binaries: a rebuild during the run must not swap them mid-way.
    try:
        build = snapshot_binaries(build, workdir / "bin")
    except BenchError as e:
        shutil.rmtree(workdir, ignore_errors=True)
        print(f"{e.what}: {e.error}", file=sys.stderr)
        return 2
    raw = RawDuckDB(build / "swan_raw_duckdb", DATA)
    doc = {
        "benchmark": "swan bench/run.py",
        "started_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git": git_facts(),
        "machine": machine_facts(),
        "duckdb": raw.run("SELECT version()")[0][1],
        "rows": args.rows,
        "repeat": args.repeat,
        "server_env": {k: v for k, v in os.environ.items() if k.startswith("SWAN_")
                       and k not in ("SWAN_TOKEN", "SWAN_URL", "SWAN_PROJECT")},
    }
    code = 0
    cases: list[Case] = []
    try:
        files = {
            "base": ensure_file(raw, DATA / f"orders_{args.rows}.csv", lambda p: base_csv_sql(args.rows, p)),
            "large": ensure_file(raw, DATA / f"update_{args.rows}_{large}.csv",
                                 lambda p: batch_csv_sql(args.rows, large, p)),
            "small": ensure_file(raw, DATA / f"update_{args.rows}_{small}.csv",
                                 lambda p: batch_csv_sql(args.rows, small, p)),
            "large_batch_rows": large,
            "small_batch_rows": small,
        }
        doc["files"] = {k: v for k, v in files.items()}
        if args.data_only:
            return 0
        load = os.getloadavg()[0]
        doc["machine"]["loadavg_1m_at_start"] = round(load, 2)
        if load > 0.5:
            log(f"warning: load average is {load:.2f}: other processes compete for the CPU, timings will be noisy")
        run_benchmark(args, build, workdir, files, doc, cases)
        if args.big:
            run_big(args, build, workdir, doc, cases)
        if args.big_json:
            run_big_json(args, build, workdir, doc, cases)
    except BenchError as e:
        print("\nSWAN BENCHMARK FAILED", file=sys.stderr)
        print(f"  operation: {e.what}", file=sys.stderr)
        print(f"  error:     {e.error}", file=sys.stderr)
        doc["error"] = {"operation": e.what, "error": e.error}
        code = 1
    finally:
        doc["machine"]["loadavg_1m_at_end"] = round(os.getloadavg()[0], 2)
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    doc["elapsed_s"] = round(time.time() - started, 1)
    doc["cases"] = {c.key: c.summary() for c in cases}
    if cases:
        print()
        if doc["server_env"]:
            print("server environment: " + " ".join(f"{k}={v}" for k, v in doc["server_env"].items()))
        print(f"Swan benchmark: {human_count(args.rows)} rows, median of {args.repeat}, "
              f"{doc['machine'].get('nproc')} cores, {doc['machine'].get('memory_mib')} MiB RAM, "
              f"DuckDB {doc['duckdb']}, commit {doc['git']['commit']}{' (dirty)' if doc['git']['dirty'] else ''}")
        print(HEADER)
        rank = {k: i for i, k in enumerate(["import_plain", "import_pk", "upsert_large", "compact_after_upsert",
                                            "upsert_small_http", "upsert_small_cli", "import_small", "groupby",
                                            "sql_fixed", "rss_idle",
                                            "rss_peak"])}
        for c in sorted(cases, key=lambda c: rank.get(c.key, len(rank))):
            print(format_line(c))
        if "error" in doc:
            print("(stopped by the failure above: medians of the repetitions that completed)")
    path = write_results(doc)
    print(f"\nresults: {path.relative_to(ROOT)} (and bench/results/latest.json)")
    return code


if __name__ == "__main__":
    sys.exit(main())
