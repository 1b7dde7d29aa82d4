#!/usr/bin/env python3
"""Swan schedules benchmark (issue 12, point 8, third bullet), on a real `swan server`:

  1. Idle cost: the server's CPU time (utime + stime of /proc/<pid>/stat) over an idle window,
     first with no schedule, then with 1,000 enabled schedules (`0 3 1 1 *`: none fires), as a
     percentage of one core. Target: <= 1 % with 1,000 schedules.
  2. Firing delay: 20 schedules `* * * * *` (beside the 1,000) fire at each minute; the delay of a
     run is its job's created_at minus the minute it was due, over --minutes minutes. Target:
     p99 <= 1 s.

Each figure is printed with its spread; results go to bench/results/schedules-<UTC time>.json.
Run on an otherwise idle machine (the idle cost is a fraction of a percent).

  python3 bench/schedules.py               # idle windows of 30 s, 3 minutes of firing
  python3 bench/schedules.py --quick       # 10 s windows, 1 minute
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as common  # noqa: E402  (bench/run.py: server, API, machine facts)

ROOT = common.ROOT
PROJECT = "schedbench"
IDLE_SCHEDULES = 1000
FIRING_SCHEDULES = 20
TARGETS = {"idle_percent_of_core": 1.0, "firing_delay_p99_ms": 1000}
log = common.log
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def idle_percent(pid: int, seconds: float) -> float:
    before, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100.0 * (cpu_seconds(pid) - before) / (time.monotonic() - t0)


def iso_ms(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
               .timestamp() * 1000)


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--idle-seconds", type=float, default=30)
    parser.add_argument("--minutes", type=int, default=3)
    args = parser.parse_args()
    if args.quick:
        args.idle_seconds, args.minutes = 10, 1
    binary = ROOT / "build" / "swan"
    if not binary.exists():
        raise common.BenchError("no build/swan", "build first: bash scripts/build.sh")
    doc = {"bench": "schedules", "time": datetime.now(timezone.utc).isoformat(),
           "machine": common.machine_facts(), "git": common.git_facts(), "targets": TARGETS}
    with tempfile.TemporaryDirectory(prefix="swan-schedbench-") as work:
        server = common.SwanServer(binary, Path(work) / "data")
        server.start()
        try:
            admin = common.Api(server.url, server.admin_token)
            made, _ = admin.call("POST", "/v1/projects", {"name": PROJECT})
            api = common.Api(server.url, made["token"]["secret"])
            base = f"/v1/projects/{PROJECT}"
            api.call("POST", base + "/configs", {
                "component_id": "swan.sql-transformation", "id": "t",
                "configuration": {"parameters": {"blocks": [{"name": "b", "codes": [
                    {"name": "c", "script": ["SELECT 1"]}]}]}}})
            time.sleep(2)
            idle_none = idle_percent(server.proc.pid, args.idle_seconds)
            log(f"idle, no schedule: {idle_none:.3f} % of one core")
            start = time.monotonic()
            for i in range(IDLE_SCHEDULES):
                api.call("POST", base + "/configs", {
                    "component_id": "keboola.scheduler", "id": f"idle-{i}",
                    "configuration": {"schedule": {"cronTab": "0 3 1 1 *", "timezone": "Europe/Prague"},
                                      "target": {"componentId": "swan.sql-transformation",
                                                 "configurationId": "t"}}})
            log(f"{IDLE_SCHEDULES} schedules saved in {time.monotonic() - start:.1f} s")
            time.sleep(20)  # past a reload of all of them
            idle_many = []
            for _ in range(3):
                idle_many.append(idle_percent(server.proc.pid, args.idle_seconds / 3))
            log(f"idle, {IDLE_SCHEDULES} schedules: " + ", ".join(f"{v:.3f}" for v in idle_many) +
                " % of one core")

            for i in range(FIRING_SCHEDULES):
                api.call("POST", base + "/configs", {
                    "component_id": "keboola.scheduler", "id": f"every-{i}",
                    "configuration": {"schedule": {"cronTab": "* * * * *", "timezone": "UTC"},
                                      "target": {"componentId": "swan.sql-transformation",
                                                 "configurationId": "t"}}})
            first_minute = (int(time.time()) // 60 + 1) * 60
            end = first_minute + 60 * args.minutes
            log(f"firing: {FIRING_SCHEDULES} schedules every minute for {args.minutes} minute(s)")
            while time.time() < end + 5:
                time.sleep(1)
            jobs, _ = api.call("GET", base + "/jobs?config=t&limit=1000")
            delays = []
            for j in jobs["jobs"]:
                created = iso_ms(j["created_at"])
                due = created // 60000 * 60000
                if first_minute * 1000 <= due < end * 1000:
                    delays.append(created - due)
            expected = FIRING_SCHEDULES * args.minutes
            log(f"{len(delays)} runs of {expected} expected; delay ms: p50 {pct(delays, 50)}, "
                f"p99 {pct(delays, 99)}, min {min(delays)}, max {max(delays)}" if delays else "no runs")
            doc["results"] = {
                "idle_percent_no_schedule": idle_none,
                "idle_percent_1000_schedules": idle_many,
                "idle_percent_1000_schedules_median": statistics.median(idle_many),
                "firing_runs": len(delays), "firing_runs_expected": expected,
                "firing_delay_ms": sorted(delays),
                "firing_delay_p50_ms": pct(delays, 50) if delays else None,
                "firing_delay_p99_ms": pct(delays, 99) if delays else None,
            }
        finally:
            server.stop()
    r = doc["results"]
    met_idle = max(r["idle_percent_1000_schedules"]) <= TARGETS["idle_percent_of_core"]
    met_delay = (r["firing_delay_p99_ms"] is not None and r["firing_runs"] == r["firing_runs_expected"]
                 and r["firing_delay_p99_ms"] <= TARGETS["firing_delay_p99_ms"])
    doc["met"] = {"idle": met_idle, "firing_delay": met_delay}
    path = ROOT / "bench" / "results" / (
        "schedules-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + ".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n")
    log(f"idle cost with {IDLE_SCHEDULES} schedules: max {max(r['idle_percent_1000_schedules']):.3f} % "
        f"(target <= 1 %): {'met' if met_idle else 'MISSED'}")
    log(f"firing delay p99: {r['firing_delay_p99_ms']} ms (target <= 1000 ms, every run present): "
        f"{'met' if met_delay else 'MISSED'}")
    log(f"results: {path}")
    return 0 if met_idle and met_delay else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except common.BenchError as e:
        print(f"bench failed: {e}", file=sys.stderr)
        sys.exit(2)
