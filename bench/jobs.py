#!/usr/bin/env python3
"""Swan pipeline benchmark: jobs measured end to end through a real `swan server`, side by side
with the tools a user would pick instead, in one run on one machine.

  1. Job overhead: a trivial SQL transformation (`SELECT 1`, no output), API submit -> success
     seen through the events long poll, N runs: p50, p99, min, max. Targets p50 <= 15 ms,
     p99 <= 100 ms.
  2. A SQL transformation over the reference table (bench/run.py's orders, 5M rows by default):
     a group-by into an output table, the Swan job end to end vs the same SQL in plain DuckDB
     (build/swan_raw_duckdb, same library) over the same Parquet segment. Target <= 1.2x.
  3. A one-model join (orders x countries, 3M orders as in the issue) as a dbt-duckdb project, `dbt run` (PyPI dbt-core + dbt-duckdb 1.10 in
     the ignored virtual environment bench/.venv-peers, created here). Target: Swan >= 15x faster.
  4. A Python transformation's overhead beyond python3's own start: the job (a script that does
     nothing) end to end minus `python3 -c pass`. Target <= 150 ms.

Every pair is reported with each repetition, so the spread is visible; results go to
bench/results/jobs-<time>.json. Run on an otherwise idle machine.

  python3 bench/jobs.py                      # 5M rows, 7 repetitions of the heavy cases
  python3 bench/jobs.py --rows 200000 --repeat 3 --no-dbt   # a quick check
"""
import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as common  # noqa: E402  (bench/run.py: server, API, data generation)

ROOT = common.ROOT
DATA = common.DATA
VENV = Path(__file__).resolve().parent / ".venv-peers"
PROJECT = "jobsbench"

REGIONS = {"US": "americas", "CA": "americas", "BR": "americas", "DE": "europe", "FR": "europe",
           "GB": "europe", "CZ": "europe", "PL": "europe", "ES": "europe", "IT": "europe",
           "NL": "europe", "SE": "europe", "JP": "asia", "IN": "asia", "AU": "oceania"}
# The one-model join compared with dbt (the "one-model join"): orders x countries.
JOIN_SQL = ("SELECT c.region, o.status, count(*) AS orders, "
            "round(sum(o.quantity * o.unit_price), 2) AS revenue "
            "FROM {orders} o JOIN {countries} c ON c.country = o.country GROUP BY c.region, o.status")

AGG_SQL = ("SELECT country, status, count(*) AS orders, "
           "round(sum(quantity * unit_price * (1 - discount)), 2) AS revenue, "
           "count(DISTINCT customer_id) AS customers FROM {src} GROUP BY country, status")


def pct(values, p):
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100 * (len(s) - 1)))))
    return s[k]


class KeepAlive:
    """One HTTP/1.1 connection, as a client that submits jobs keeps (urllib opens one a call,
    which measures the client, not the server)."""

    def __init__(self, url: str, token: str):
        host, port = url.split("//", 1)[1].split(":")
        self.address = (host, int(port))
        self.conn = http.client.HTTPConnection(*self.address, timeout=120)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body=None):
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=None if body is None else json.dumps(body),
                                  headers=self.headers)
                r = self.conn.getresponse()
                raw = r.read()
                break
            except (http.client.HTTPException, ConnectionError) as e:
                # The server closes a connection idle for a while (a dbt run): connect again.
                self.conn.close()
                self.conn = http.client.HTTPConnection(*self.address, timeout=120)
                if attempt == 1:
                    raise common.BenchError(f"{method} {path}", f"connection failed: {e}") from None
        if r.status >= 300:
            raise common.BenchError(f"{method} {path}", f"HTTP {r.status}: {raw[:2000]!r}")
        return (json.loads(raw) if raw else {}), 0.0


def run_job(api, config_id, body=None):
    """POST run, then follow the events until the job ends; returns (ms submit->end, job)."""
    start = time.perf_counter()
    answer, _ = api.call("POST", f"/v1/projects/{PROJECT}/configs/{config_id}/run", body or {})
    job_id = answer["job"]["id"]
    after = 0
    while True:
        ev, _ = api.call("GET", f"/v1/projects/{PROJECT}/jobs/{job_id}/events?wait=30&after={after}")
        for e in ev["events"]:
            after = e["id"]
        if ev["finished"] and not ev["events"]:
            break
    ms = (time.perf_counter() - start) * 1000
    job, _ = api.call("GET", f"/v1/projects/{PROJECT}/jobs/{job_id}")
    if job["job"]["status"] != "success":
        raise common.BenchError(f"job {job_id} of {config_id}", json.dumps(job["job"])[:2000])
    return ms, job["job"]


def save_config(api, component, config_id, configuration):
    api.call("POST", f"/v1/projects/{PROJECT}/configs",
             {"component_id": component, "id": config_id, "configuration": configuration})


def sql_config(script, inputs=(), outputs=()):
    return {"storage": {"input": {"tables": list(inputs)}, "output": {"tables": list(outputs)}},
            "parameters": {"blocks": [{"name": "b", "codes": [{"name": "c", "script": script}]}]}}


def ensure_dbt(log) -> Path:
    dbt = VENV / "bin" / "dbt"
    if dbt.exists():
        return dbt
    log("creating bench/.venv-peers with dbt-core and dbt-duckdb 1.10 (once)")
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "dbt-core>=1.10,<1.11",
                    "dbt-duckdb>=1.10,<1.11"], check=True)
    return dbt


def dbt_project(workdir: Path, segment: Path, countries: Path) -> Path:
    proj = workdir / "dbt"
    (proj / "models").mkdir(parents=True, exist_ok=True)
    (proj / "dbt_project.yml").write_text(
        "name: swan_bench\nversion: '1.0'\nconfig-version: 2\nprofile: swan_bench\n"
        "model-paths: ['models']\n")
    (proj / "profiles.yml").write_text(
        "swan_bench:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {proj / 'bench.duckdb'}\n      threads: 2\n")
    (proj / "models" / "region_revenue.sql").write_text(
        "{{ config(materialized='table') }}\n" +
        JOIN_SQL.format(orders=f"read_parquet('{segment}')",
                        countries=f"read_csv('{countries}')") + "\n")
    return proj


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000, help="rows of the reference table")
    parser.add_argument("--repeat", type=int, default=7, help="repetitions of the heavy cases")
    parser.add_argument("--overhead-runs", type=int, default=200, help="runs of the trivial job")
    parser.add_argument("--no-dbt", action="store_true", help="skip the dbt comparison")
    parser.add_argument("--dbt-rows", type=int, default=3_000_000,
                        help="orders in the dbt comparison (the issue's measurement: 3M)")
    parser.add_argument("--build", type=Path, default=ROOT / "build")
    args = parser.parse_args()
    log = common.log
    build = args.build.resolve()
    DATA.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="jobs-", dir=DATA))
    build = common.snapshot_binaries(build, workdir / "bin")
    raw = common.RawDuckDB(build / "swan_raw_duckdb", DATA)
    csv = DATA / f"orders_{args.rows}.csv"
    common.ensure_file(raw, csv, lambda p: common.base_csv_sql(args.rows, p))
    doc = {"benchmark": "swan bench/jobs.py",
           "started_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "git": common.git_facts(), "machine": common.machine_facts(), "rows": args.rows,
           "repeat": args.repeat, "cases": {}}
    server = common.SwanServer(build / "swan", workdir / "data")
    failed = []
    try:
        server.start()
        admin = common.Api(server.url, server.admin_token)
        created, _ = admin.call("POST", "/v1/projects", {"name": PROJECT})
        slow_api = common.Api(server.url, created["token"]["secret"])
        log(f"importing {csv} into in.bench.orders")
        slow_api.call("POST", f"/v1/projects/{PROJECT}/tables/in.bench.orders/import?name=orders.csv",
                      file=Path(csv))
        countries = workdir / "countries.csv"
        countries.write_text("country,region\n" + "".join(f"{c},{r}\n" for c, r in REGIONS.items()))
        slow_api.call("POST", f"/v1/projects/{PROJECT}/tables/in.bench.countries/import?name=c.csv",
                      file=countries)
        api = KeepAlive(server.url, created["token"]["secret"])

        # 1. Job overhead.
        save_config(api, "swan.sql-transformation", "noop", sql_config(["SELECT 1"]))
        for _ in range(5):
            run_job(api, "noop")
        overhead = [run_job(api, "noop")[0] for _ in range(args.overhead_runs)]
        p50, p99 = pct(overhead, 50), pct(overhead, 99)
        doc["cases"]["job_overhead_ms"] = {"runs": len(overhead), "p50": p50, "p99": p99,
                                           "min": min(overhead), "max": max(overhead)}
        log(f"job overhead, trivial SQL transformation, {len(overhead)} runs: p50 {p50:.1f} ms "
            f"(target <= 15), p99 {p99:.1f} ms (target <= 100), min {min(overhead):.1f}, "
            f"max {max(overhead):.1f}")
        if p50 > 15 or p99 > 100:
            failed.append("job overhead")

        # 2. SQL transformation over the reference table vs raw DuckDB on the same Parquet.
        segments = sorted((workdir / "data" / "segments").rglob("*.parquet"), key=lambda p: p.stat().st_size)
        if len(segments) != 2:
            raise common.BenchError("expected the segments of in.bench.orders and countries", str(segments))
        segment = segments[-1]  # the orders' (the larger)
        save_config(api, "swan.sql-transformation", "agg", sql_config(
            ["CREATE TABLE agg AS " + AGG_SQL.format(src="orders")],
            [{"source": "in.bench.orders", "destination": "orders"}],
            [{"source": "agg", "destination": "out.bench.agg"}]))
        run_job(api, "agg")  # warm the page cache and the server
        out = workdir / "raw_agg.parquet"
        swan_ms, raw_ms = [], []
        for _ in range(args.repeat):
            swan_ms.append(run_job(api, "agg")[0])
            r = raw.run("CREATE TABLE agg AS " + AGG_SQL.format(src=f"read_parquet('{segment}')"),
                        f"COPY agg TO '{out}' (FORMAT parquet)")
            raw_ms.append(r[0][0] + r[1][0])
        ratios = [s / r for s, r in zip(swan_ms, raw_ms)]
        doc["cases"]["sql_transformation"] = {"swan_ms": swan_ms, "raw_duckdb_ms": raw_ms,
                                              "ratios": ratios}
        med = statistics.median(ratios)
        log(f"SQL transformation over {args.rows} rows: Swan job median "
            f"{statistics.median(swan_ms):.0f} ms vs raw DuckDB {statistics.median(raw_ms):.0f} ms: "
            f"ratio median {med:.2f} (min {min(ratios):.2f}, max {max(ratios):.2f}; target <= 1.2)")
        if med > 1.2:
            failed.append("SQL transformation vs raw DuckDB")

        # 3. dbt-duckdb, the same model.
        if not args.no_dbt:
            try:
                dbt = ensure_dbt(log)
                dbt_csv = DATA / f"orders_{args.dbt_rows}.csv"
                common.ensure_file(raw, dbt_csv, lambda p: common.base_csv_sql(args.dbt_rows, p))
                before = set((workdir / "data" / "segments").rglob("*.parquet"))
                slow_api.call("POST", f"/v1/projects/{PROJECT}/tables/in.bench.orders_dbt/import"
                              "?name=orders.csv", file=dbt_csv)
                (dbt_segment,) = set((workdir / "data" / "segments").rglob("*.parquet")) - before
                proj = dbt_project(workdir, dbt_segment, countries)
                save_config(api, "swan.sql-transformation", "join", sql_config(
                    ["CREATE TABLE region_revenue AS " + JOIN_SQL.format(orders="orders",
                                                                         countries="countries")],
                    [{"source": "in.bench.orders_dbt", "destination": "orders"},
                     {"source": "in.bench.countries", "destination": "countries"}],
                    [{"source": "region_revenue", "destination": "out.bench.region_revenue"}]))
                run_job(api, "join")
                dbt_cmd = [str(dbt), "run", "--profiles-dir", str(proj), "--project-dir", str(proj)]
                subprocess.run(dbt_cmd, check=True, capture_output=True)  # first run parses
                dbt_ms, swan2 = [], []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    p = subprocess.run(dbt_cmd, capture_output=True, text=True)
                    dbt_ms.append((time.perf_counter() - t) * 1000)
                    if p.returncode != 0:
                        raise common.BenchError("dbt run", p.stdout[-2000:])
                    swan2.append(run_job(api, "join")[0])
                speedups = [d / s for d, s in zip(dbt_ms, swan2)]
                doc["cases"]["dbt"] = {"dbt_run_ms": dbt_ms, "swan_ms": swan2, "speedups": speedups}
                med = statistics.median(speedups)
                log(f"dbt run of the one-model join over {args.dbt_rows} orders: median {statistics.median(dbt_ms):.0f} ms vs Swan "
                    f"job {statistics.median(swan2):.0f} ms: Swan {med:.1f}x faster (min "
                    f"{min(speedups):.1f}, max {max(speedups):.1f}; target >= 15)")
                if med < 15:
                    failed.append("dbt")
            except (subprocess.CalledProcessError, common.BenchError, OSError) as e:
                doc["cases"]["dbt"] = {"error": str(e)}
                log(f"dbt: not measured: {e}")
                failed.append("dbt (not measured)")

        # 4. Python transformation overhead beyond python3's start.
        save_config(api, "keboola.python-transformation-v2", "pynoop", sql_config(["pass"]))
        run_job(api, "pynoop")
        py_ms, start_ms = [], []
        for _ in range(max(args.repeat, 10)):
            py_ms.append(run_job(api, "pynoop")[0])
            t = time.perf_counter()
            subprocess.run(["/usr/bin/python3", "-c", "pass"], check=True)
            start_ms.append((time.perf_counter() - t) * 1000)
        extra = [p - s for p, s in zip(py_ms, start_ms)]
        doc["cases"]["python_overhead"] = {"job_ms": py_ms, "python_start_ms": start_ms,
                                           "overhead_ms": extra}
        med = statistics.median(extra)
        log(f"Python transformation: job median {statistics.median(py_ms):.0f} ms, python3 start "
            f"{statistics.median(start_ms):.0f} ms: overhead median {med:.0f} ms (min {min(extra):.0f}, "
            f"max {max(extra):.0f}; target <= 150)")
        if med > 150:
            failed.append("python overhead")
    except common.BenchError as e:
        print(f"bench failed: {e.what}: {e.error}", file=sys.stderr)
        return 2
    finally:
        server.stop()
        doc["failed"] = failed
        out = ROOT / "bench" / "results" / ("jobs-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + ".json")
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(doc, indent=2))
        log(f"results: {out}")
        shutil.rmtree(workdir, ignore_errors=True)
    if failed:
        log("targets missed: " + ", ".join(failed))
        return 1
    log("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
