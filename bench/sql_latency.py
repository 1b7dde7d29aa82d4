#!/usr/bin/env python3
"""SQL API latency and memory, with and without worker processes (issue 8, 10f), on a real
`swan server`:

  1. Latency: --queries `SELECT 1` back to back on one keep-alive connection, then the same with
     --gap-ms between them; p50, p99 and max in ms, for the server as shipped (each query in a
     worker process capped in memory) and with SWAN_SQL_WORKERS=0 (in the server process), the
     two servers measured alternately in --rounds rounds.
  2. Memory: the server's peak RSS (VmHWM) before and after
     `SELECT repeat('x', 1000000) FROM range(1000)` (DuckDB builds 1 GB of strings outside its
     memory limit), and the answer's HTTP status.

Results go to bench/results/sql-latency-<UTC time>.json.

  python3 bench/sql_latency.py            # 200 queries x 3 rounds
"""
import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as common  # noqa: E402

ROOT = common.ROOT
log = common.log


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def start(binary: Path, work: Path, name: str, workers: bool):
    if workers:
        os.environ.pop("SWAN_SQL_WORKERS", None)
    else:
        os.environ["SWAN_SQL_WORKERS"] = "0"
    server = common.SwanServer(binary, work / name)
    server.start()
    os.environ.pop("SWAN_SQL_WORKERS", None)
    admin = common.Api(server.url, server.admin_token)
    made, _ = admin.call("POST", "/v1/projects", {"name": "lat"})
    return server, made["token"]["secret"]


def query(conn, token: str, sql: str) -> tuple[int, float]:
    body = json.dumps({"sql": sql})
    t0 = time.perf_counter()
    conn.request("POST", "/v1/projects/lat/sql", body=body,
                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    return r.status, (time.perf_counter() - t0) * 1000


def latencies(server, token, n: int, gap_ms: float) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    out = []
    for _ in range(n):
        status, ms = query(conn, token, "SELECT 1")
        if status != 200:
            raise common.BenchError("SELECT 1", f"HTTP {status}")
        out.append(ms)
        if gap_ms:
            time.sleep(gap_ms / 1000)
    conn.close()
    return out


def summary(values):
    return {"p50": round(pct(values, 50), 2), "p99": round(pct(values, 99), 2),
            "max": round(max(values), 2), "n": len(values)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--gap-ms", type=float, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    binary = ROOT / "build" / "swan"
    if not binary.exists():
        raise common.BenchError("no build/swan", "build first: bash scripts/build.sh")
    doc = {"bench": "sql-latency", "time": datetime.now(timezone.utc).isoformat(),
           "machine": common.machine_facts(), "git": common.git_facts(), "rounds": []}
    with tempfile.TemporaryDirectory(prefix="swan-sqllat-") as work:
        servers = {"workers": start(binary, Path(work), "w", True),
                   "in_process": start(binary, Path(work), "p", False)}
        try:
            for (server, token) in servers.values():  # warm-up
                latencies(server, token, 20, 0)
            for rnd in range(args.rounds):
                entry = {}
                order = list(servers) if rnd % 2 == 0 else list(reversed(servers))
                for name in order:
                    server, token = servers[name]
                    entry[name] = {"back_to_back": summary(latencies(server, token, args.queries, 0)),
                                   "gap": summary(latencies(server, token, args.queries // 4,
                                                            args.gap_ms))}
                for kind in ("back_to_back", "gap"):
                    entry[f"p50_ratio_{kind}"] = round(entry["workers"][kind]["p50"] /
                                                       entry["in_process"][kind]["p50"], 2)
                log(f"round {rnd + 1}: " + json.dumps(entry))
                doc["rounds"].append(entry)
            doc["memory"] = {}
            for name, (server, token) in servers.items():
                before = common.proc_status(server.proc.pid)["VmHWM"]
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
                status, ms = query(conn, token, "SELECT repeat('x', 1000000) AS s FROM range(1000)")
                after = common.proc_status(server.proc.pid)["VmHWM"]
                doc["memory"][name] = {"status": status, "ms": round(ms), "vmhwm_before_mib":
                                       before // 1024, "vmhwm_after_mib": after // 1024}
                log(f"huge value, {name}: " + json.dumps(doc["memory"][name]))
        finally:
            for server, _ in servers.values():
                server.stop()
    for kind in ("back_to_back", "gap"):
        ratios = [r[f"p50_ratio_{kind}"] for r in doc["rounds"]]
        log(f"p50 ratio workers / in-process, {kind}: {ratios} "
            f"(median {statistics.median(ratios)}, min {min(ratios)}, max {max(ratios)})")
    out = ROOT / "bench" / "results" / f"sql-latency-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(doc, indent=2) + "\n")
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
