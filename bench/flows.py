#!/usr/bin/env python3
"""Swan flows benchmark (issue 12, point 8): flows of trivial tasks run through a real `swan server`,
side by side with Dagster running the same chain in-process, in one run on one machine.

  1. Chain: 40 trivial tasks in sequence. 40 configurations of `swan.sql-transformation` whose
     script is `SELECT 1` with no output table, and a flow (`keboola.orchestrator`) of 40 phases
     chained by `dependsOn`, one task each. API submit (POST run) -> the flow's job `success`
     seen by the client, on one keep-alive connection, polling the job's events without waiting
     every 1 ms (the headline) and, in a second run of each repetition, following the events
     long poll (`wait=30`, as jobs.py and `swan flow run` do). Target <= 0.3 s.
     Dagster (PyPI `dagster` 1.13, in the ignored bench/.venv-dagster created here): the same
     40-op chain (each op returns its input + 1), `job.execute_in_process(instance=
     DagsterInstance.get())` with DAGSTER_HOME set (a persistent SQLite instance), the execute
     call only, in a Python process that stays up (warm); also with an ephemeral instance, for
     reference. Target: Swan >= 2.5x faster than Dagster persistent.
  2. Wide: 100 trivial tasks in 10 phases of 10 (each phase depends on the one before),
     `parallelism` 4. Target <= 1 s.

Method: one untimed warm-up of each side, then --repeat repetitions whose order alternates
(Swan first, then Dagster first, ...); every repetition's figures and ratios are printed and
stored. Where Swan's time goes per task comes from the task jobs' created_at / started_at /
finished_at (millisecond stamps): queued -> started, run, finished -> next task created; and
inside a task from its events (prepare, SQL, commit), fetched after each timed run.
Results go to bench/results/flows-<UTC time>.json. Run on an otherwise idle machine.

  python3 bench/flows.py                 # 5 repetitions
  python3 bench/flows.py --quick         # 2 repetitions
  python3 bench/flows.py --no-dagster    # Swan only (no venv, no network)
"""
import argparse
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as common  # noqa: E402  (bench/run.py: server, API, machine facts)
from jobs import KeepAlive  # noqa: E402  (one keep-alive connection)
from connectors import Interference, Window, load_facts, pct_summary, snapshot_swan  # noqa: E402

ROOT = common.ROOT
DATA = common.DATA
BENCH = ROOT / "bench"
VENV = BENCH / ".venv-dagster"
DAGSTER_SPEC = "dagster>=1.13,<1.14"
PROJECT = "flowbench"
CHAIN = 40
PHASES, WIDTH, PARALLELISM = 10, 10, 4
POLL_S = 0.001  # the tight poll's pause between two status requests
TARGETS = {"chain_ms": 300, "wide_ms": 1000, "dagster_speedup": 2.5}

log = common.log

# The Dagster side: a process that stays up and runs the chain on request ("persistent" or
# "ephemeral" on stdin), answering one JSON line with the execute call's wall time.
DAGSTER_WORKER = r'''
import json, sys, time
t0 = time.perf_counter()
import dagster
from dagster import DagsterInstance, job, op

N = int(sys.argv[1])


@op(name="op_00")
def first():
    return 0


def make(i):
    @op(name=f"op_{i:02d}")
    def step(x):
        return x + 1
    return step


steps = [make(i) for i in range(1, N)]


@job(name="chain")
def chain():
    x = first()
    for s in steps:
        x = s(x)


instances = {"persistent": DagsterInstance.get(), "ephemeral": DagsterInstance.ephemeral()}
print(json.dumps({"ready": True, "version": dagster.__version__,
                  "import_ms": (time.perf_counter() - t0) * 1000,
                  "instance": type(instances["persistent"].run_storage).__name__}), flush=True)
for line in sys.stdin:
    mode = line.strip()
    if not mode:
        continue
    inst = instances[mode]
    t = time.perf_counter()
    result = chain.execute_in_process(instance=inst)
    ms = (time.perf_counter() - t) * 1000
    ok = result.success and result.output_for_node(f"op_{N - 1:02d}") == N - 1
    print(json.dumps({"ms": ms, "success": ok, "run_id": result.run_id}), flush=True)
'''


class Skip(Exception):
    """A peer that cannot be measured here (failed install): said, not fatal."""


def run_cmd(cmd, what):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise common.BenchError(what, f"exit {p.returncode}: {(p.stderr or p.stdout).strip()[-3000:]}")
    return p


def ensure_dagster() -> Path:
    py = VENV / "bin" / "python"

    def version():
        if not py.exists():
            return None
        p = subprocess.run([str(py), "-c", "import dagster; print(dagster.__version__)"],
                           capture_output=True, text=True)
        return p.stdout.strip() if p.returncode == 0 else None

    v = version()
    if v and v.startswith("1.13."):
        return py
    log(f"installing {DAGSTER_SPEC} into bench/.venv-dagster (once, ~150 MB)")
    try:
        if not py.exists():
            run_cmd(["/usr/bin/python3", "-m", "venv", str(VENV)], "python3 -m venv bench/.venv-dagster")
        # `python -m pip`, not bin/pip: a copied venv's scripts can point at the original's python.
        run_cmd([str(py), "-m", "pip", "install", "-q", DAGSTER_SPEC], f"pip install {DAGSTER_SPEC}")
    except common.BenchError as e:
        raise Skip(f"{e.what}: {e.error}")
    if not (version() or "").startswith("1.13."):
        raise Skip("dagster 1.13 does not import in bench/.venv-dagster")
    return py


class Dagster:
    """The worker process (warm: the chain runs again and again in one interpreter)."""

    def __init__(self, py: Path, workdir: Path, n: int):
        self.home = workdir / "dagster-home"
        self.home.mkdir(parents=True, exist_ok=True)
        # A persistent instance: SQLite run, event log and schedule storage under DAGSTER_HOME
        # (Dagster's defaults); telemetry off (it would only write its log files here).
        (self.home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        script = workdir / "dagster_chain.py"
        script.write_text(DAGSTER_WORKER)
        env = dict(os.environ, DAGSTER_HOME=str(self.home), PYTHONUNBUFFERED="1")
        self.stderr_path = workdir / "dagster.stderr"
        self.stderr = open(self.stderr_path, "wb")  # Dagster's console log of each run goes here
        self.proc = subprocess.Popen([str(py), str(script), str(n)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr, text=True, env=env)
        self.facts = self._read()
        if not self.facts.get("ready"):
            raise common.BenchError("dagster worker", str(self.facts))

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise common.BenchError("dagster worker exited",
                                    self.stderr_path.read_text(errors="replace")[-3000:])
        return json.loads(line)

    def run(self, mode: str) -> float:
        self.proc.stdin.write(mode + "\n")
        self.proc.stdin.flush()
        r = self._read()
        if not r["success"]:
            raise common.BenchError(f"dagster chain ({mode})", json.dumps(r))
        return r["ms"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()


# --------------------------------------------------------------------------------------------
# Swan


def iso_ms(s) -> float:
    return datetime.strptime(s.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000


class Swan:
    def __init__(self, binary: Path, data_dir: Path):
        self.server = common.SwanServer(binary, data_dir)

    def start(self):
        self.server.start()
        admin = common.Api(self.server.url, self.server.admin_token)
        created, _ = admin.call("POST", "/v1/projects", {"name": PROJECT})
        self.api = KeepAlive(self.server.url, created["token"]["secret"])

    def stop(self):
        self.server.stop()

    def save_config(self, component: str, config_id: str, configuration: dict):
        self.api.call("POST", f"/v1/projects/{PROJECT}/configs",
                      {"component_id": component, "id": config_id, "configuration": configuration})

    def run_flow(self, config_id: str, follow: str = "poll"):
        """POST run, then wait for the flow's job to end: (ms submit -> end, flow job with its
        tasks, wall-clock epoch ms at submit and at the end seen by the client, requests made).
        follow="poll": ask for the job's new events without waiting (status and `finished`
        come with them) every POLL_S; "events": the events long poll (`wait=30`), as jobs.py
        and `swan flow run` follow a job."""
        submit_epoch = time.time() * 1000
        start = time.perf_counter()
        answer, _ = self.api.call("POST", f"/v1/projects/{PROJECT}/configs/{config_id}/run", {})
        job_id = answer["job"]["id"]
        after, requests = 0, 0
        wait = "&wait=30" if follow == "events" else ""
        while True:
            ev, _ = self.api.call("GET", f"/v1/projects/{PROJECT}/jobs/{job_id}/events?after={after}{wait}")
            requests += 1
            for e in ev["events"]:
                after = e["id"]
            if ev["finished"] and (follow == "poll" or not ev["events"]):
                break
            if follow == "poll":
                time.sleep(POLL_S)
        ms = (time.perf_counter() - start) * 1000
        end_epoch = time.time() * 1000
        answer, _ = self.api.call("GET", f"/v1/projects/{PROJECT}/jobs/{job_id}")
        if answer["job"]["status"] != "success":
            raise common.BenchError(f"flow job {job_id} of {config_id}", json.dumps(answer)[:3000])
        return ms, answer, submit_epoch, end_epoch, requests


    def task_events(self, answer: dict) -> dict:
        """Each task job's events (after the timed run): job id -> [(epoch ms, message)]."""
        out = {}
        for t in answer["job"]["tasks"]:
            ev, _ = self.api.call("GET", f"/v1/projects/{PROJECT}/jobs/{t['id']}/events")
            out[t["id"]] = [(iso_ms(e["time"]), e["message"]) for e in ev["events"]]
        return out


def sql_noop() -> dict:
    return {"parameters": {"blocks": [{"name": "b", "codes": [{"name": "c", "script": ["SELECT 1"]}]}]}}


def flow_config(phases: int, width: int, parallelism: int) -> dict:
    """`phases` phases, each depending on the one before, `width` tasks each (tasks t001...)."""
    out = {"phases": [], "tasks": [], "parallelism": parallelism}
    n = 0
    for p in range(1, phases + 1):
        out["phases"].append({"id": p, "name": f"phase {p}", "dependsOn": [p - 1] if p > 1 else []})
        for _ in range(width):
            n += 1
            out["tasks"].append({"id": n, "name": f"t{n:03d}", "phase": p, "enabled": True,
                                 "continueOnFailure": False,
                                 "task": {"componentId": "swan.sql-transformation",
                                          "configId": f"t{n:03d}", "mode": "run"}})
    return out


def event_at(events, prefix):
    for at, message in events:
        if message.startswith(prefix):
            return at
    return None


def breakdown(answer: dict, submit_epoch: float, end_epoch: float, width: int, events=None) -> dict:
    """Where a flow's time went, from the server's millisecond stamps (averages per task)."""
    flow = answer["job"]
    tasks = sorted(flow["tasks"], key=lambda t: (iso_ms(t["created_at"]), t["id"]))
    f_created, f_started, f_finished = (iso_ms(flow[k]) for k in ("created_at", "started_at", "finished_at"))
    c = [iso_ms(t["created_at"]) for t in tasks]
    s = [iso_ms(t["started_at"]) for t in tasks]
    f = [iso_ms(t["finished_at"]) for t in tasks]
    n = len(tasks)
    mean = statistics.fmean
    out = {
        "tasks": n,
        "submit_to_flow_created_ms": round(f_created - submit_epoch, 1),
        "flow_created_to_started_ms": f_started - f_created,
        "flow_started_to_first_task_created_ms": c[0] - f_started,
        "task_queued_ms": round(mean(b - a for a, b in zip(c, s)), 2),   # created -> started
        "task_run_ms": round(mean(b - a for a, b in zip(s, f)), 2),      # started -> finished
        "task_usage_wall_ms": round(mean(t["usage"]["wall_ms"] for t in tasks), 2),
        "task_usage_cpu_ms": round(mean(t["usage"]["cpu_ms"] for t in tasks), 2),
        "last_task_finished_to_flow_finished_ms": f_finished - max(f),
        "flow_finished_to_client_ms": round(end_epoch - f_finished, 1),
        "flow_created_to_finished_ms": f_finished - f_created,
    }
    # The task's run as the server sees it vs the job's own measured wall time: what the job
    # runner spends around the component (workspace, catalog writes) is in the difference.
    if events:
        # Inside a task, from its events: started -> "running N SQL statements" (the job's
        # folder, configuration, input views), -> "committing" (the SQL; finished_at is stamped
        # here), -> the last event "job success", written in the transaction that records the
        # status (the commit); then the flow runner's hand-off to the next task.
        prep, sql, commit, after = [], [], [], []
        for i, t in enumerate(tasks):
            ev = events[t["id"]]
            running, committing = event_at(ev, "running "), event_at(ev, "committing ")
            done = event_at(ev, "job success")
            if None in (running, committing, done):
                continue
            prep.append(running - s[i])
            sql.append(committing - running)
            commit.append(done - committing)
            if width == 1 and i + 1 < n:
                after.append(c[i + 1] - done)
        if prep:
            out["task_prepare_ms"] = round(mean(prep), 2)
            out["task_sql_ms"] = round(mean(sql), 2)
            out["task_commit_ms"] = round(mean(commit), 2)
            if after:
                out["committed_to_next_task_created_ms"] = round(mean(after), 2)
    if width == 1:
        # A chain: finished -> the next task created is the flow runner's hand-off.
        gaps = [c[i + 1] - f[i] for i in range(n - 1)]
        out["handoff_ms"] = round(mean(gaps), 2)
        out["per_task_ms"] = round((f[-1] - c[0]) / n, 2)
    else:
        phases = [list(range(i, min(i + width, n))) for i in range(0, n, width)]
        spans = [max(f[j] for j in ph) - min(c[j] for j in ph) for ph in phases]
        gaps = [min(c[j] for j in phases[k + 1]) - max(f[j] for j in phases[k]) for k in range(len(phases) - 1)]
        out["phase_span_ms"] = round(mean(spans), 2)
        out["phase_handoff_ms"] = round(mean(gaps), 2) if gaps else None
        # The most tasks running at once (the flow's parallelism, capped by the project's
        # running-jobs limit, SWAN_JOBS_PER_PROJECT).
        events = sorted([(x, 1) for x in s] + [(x, -1) for x in f], key=lambda e: (e[0], e[1]))
        running = peak = 0
        for _, d in events:
            running += d
            peak = max(peak, running)
        out["max_tasks_running"] = peak
        out["per_task_ms"] = round((f[-1] - c[0]) / n, 2)
    return out


def summarize_breakdowns(items: list) -> dict:
    keys = [k for k in items[0] if isinstance(items[0][k], (int, float)) and items[0][k] is not None]
    return {k: round(statistics.median(b[k] for b in items), 2) if k != "tasks" else items[0][k] for k in keys}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, help="timed repetitions (default 5; --quick: 2)")
    parser.add_argument("--quick", action="store_true", help="2 repetitions")
    parser.add_argument("--no-dagster", action="store_true", help="Swan only")
    parser.add_argument("--jobs-per-project", type=int,
                        help="SWAN_JOBS_PER_PROJECT for the server (default: the server's own, 2)")
    parser.add_argument("--build", type=Path, default=ROOT / "build", help="where swan is (default build/)")
    parser.add_argument("--keep", action="store_true", help="keep the run folder bench/data/flows-*")
    args = parser.parse_args()
    if args.repeat is None:
        args.repeat = 2 if args.quick else 5
    if args.repeat < 1:
        parser.error("--repeat >= 1")
    if not (args.build / "swan").exists():
        print(f"missing: {args.build / 'swan'} (build first: ninja -C build swan)", file=sys.stderr)
        return 2

    DATA.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="flows-", dir=DATA))
    doc = {"benchmark": "swan bench/flows.py",
           "started_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "git": common.git_facts(), "machine": common.machine_facts(), "repeat": args.repeat,
           "quick": args.quick, "load_at_start": load_facts(servers=True),
           "swan_env": {k: v for k, v in os.environ.items() if k.startswith("SWAN_")},
           "peers": {}, "targets": TARGETS, "cases": {}}
    others = subprocess.run(["pgrep", "-af", "bench/"], capture_output=True, text=True).stdout.splitlines()
    doc["load_at_start"]["other_benchmarks"] = [l for l in others if "flows.py" not in l and "pgrep" not in l]
    if (doc["load_at_start"]["loadavg"][0] > 0.5 or doc["load_at_start"]["busy_processes"]
            or doc["load_at_start"]["other_benchmarks"]):
        log(f"warning: the machine is busy ({doc['load_at_start']}): timings will be noisy")
    if args.jobs_per_project:
        os.environ["SWAN_JOBS_PER_PROJECT"] = str(args.jobs_per_project)
        doc["swan_env"]["SWAN_JOBS_PER_PROJECT"] = str(args.jobs_per_project)
    failed, code = [], 0
    swan, dag = None, None
    monitor = Interference()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: signal.default_int_handler(signal.SIGINT, None))
    try:
        binary = snapshot_swan(args.build.resolve(), workdir / "bin")
        doc["peers"]["swan"] = subprocess.run([str(binary), "--version"], capture_output=True,
                                              text=True).stdout.strip()
        src = args.build.resolve() / "swan"
        doc["swan_binary"] = {
            "built_utc": datetime.fromtimestamp(src.stat().st_mtime, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sha256": hashlib.sha256(binary.read_bytes()).hexdigest()[:16]}
        if not args.no_dagster:
            try:
                py = ensure_dagster()
                dag = Dagster(py, workdir, CHAIN)
                doc["peers"]["dagster"] = dag.facts
                log(f"dagster {dag.facts['version']} ready (import {dag.facts['import_ms']:.0f} ms, "
                    f"run storage {dag.facts['instance']})")
            except (Skip, common.BenchError) as e:
                log(f"dagster: not measured: {e}")
                doc["peers"]["dagster"] = {"error": str(e)}
                failed.append("dagster (not measured)")
                dag = None
        swan = Swan(binary, workdir / "swan-data")
        swan.start()
        n_configs = max(CHAIN, PHASES * WIDTH)
        for i in range(1, n_configs + 1):
            swan.save_config("swan.sql-transformation", f"t{i:03d}", sql_noop())
        swan.save_config("keboola.orchestrator", "chain40", flow_config(CHAIN, 1, PARALLELISM))
        swan.save_config("keboola.orchestrator", "wide100", flow_config(PHASES, WIDTH, PARALLELISM))

        # 1. The 40-task chain, Swan vs Dagster (persistent; ephemeral for reference).
        with Window(monitor, doc, "chain"):
            swan.run_flow("chain40")
            if dag:
                dag.run("persistent")
                dag.run("ephemeral")
            swan.run_flow("chain40", "events")
            swan_ms, ev_ms, dag_ms, eph_ms, parts, ev_lag = [], [], [], [], [], []
            for rep in range(args.repeat):
                def swan_step():
                    ms, answer, t0, t1, _ = swan.run_flow("chain40")
                    swan_ms.append(ms)
                    parts.append(breakdown(answer, t0, t1, 1, swan.task_events(answer)))
                    ms, answer, t0, t1, _ = swan.run_flow("chain40", "events")
                    ev_ms.append(ms)
                    ev_lag.append(breakdown(answer, t0, t1, 1)["flow_finished_to_client_ms"])

                def dag_step():
                    if dag:
                        dag_ms.append(dag.run("persistent"))
                        eph_ms.append(dag.run("ephemeral"))
                steps = [swan_step, dag_step] if rep % 2 == 0 else [dag_step, swan_step]
                for step in steps:
                    step()
                b = parts[-1]
                line = (f"chain {rep + 1}/{args.repeat}: Swan {swan_ms[-1]:.0f} ms "
                        f"({b['per_task_ms']:.1f} ms/task: queued {b['task_queued_ms']:.1f}, run "
                        f"{b['task_run_ms']:.1f}, hand-off {b['handoff_ms']:.1f}); following the events "
                        f"long poll {ev_ms[-1]:.0f} ms (flow end -> client {ev_lag[-1]:.0f} ms)")
                if dag:
                    line += (f"; Dagster persistent {dag_ms[-1]:.0f} ms ({dag_ms[-1] / swan_ms[-1]:.2f}x), "
                             f"ephemeral {eph_ms[-1]:.0f} ms ({eph_ms[-1] / swan_ms[-1]:.2f}x)")
                log(line)
        # Headline: the tight poll; the long-poll follow is stored beside it.
        case = {"tasks": CHAIN, "follow": f"poll every {POLL_S * 1000:g} ms", "swan_ms": [round(x, 1) for x in swan_ms], "swan": pct_summary(swan_ms),
                "target_max_ms": TARGETS["chain_ms"], "met": statistics.median(swan_ms) <= TARGETS["chain_ms"],
                "breakdown": parts, "breakdown_median": summarize_breakdowns(parts),
                "swan_events_follow_ms": [round(x, 1) for x in ev_ms], "swan_events_follow": pct_summary(ev_ms),
                "events_follow_flow_end_to_client_ms": ev_lag}
        if dag:
            sp = [d / s for d, s in zip(dag_ms, swan_ms)]
            spe = [d / s for d, s in zip(eph_ms, swan_ms)]
            spv = [d / s for d, s in zip(dag_ms, ev_ms)]
            case.update({"dagster_persistent_ms": [round(x, 1) for x in dag_ms],
                         "dagster_persistent": pct_summary(dag_ms),
                         "dagster_ephemeral_ms": [round(x, 1) for x in eph_ms],
                         "dagster_ephemeral": pct_summary(eph_ms),
                         "speedup_vs_persistent": [round(x, 3) for x in sp],
                         "speedup_vs_persistent_summary": pct_summary(sp),
                         "speedup_vs_ephemeral": [round(x, 3) for x in spe],
                         "speedup_vs_ephemeral_summary": pct_summary(spe),
                         "speedup_vs_persistent_events_follow": [round(x, 3) for x in spv],
                         "speedup_vs_persistent_events_follow_summary": pct_summary(spv),
                         "target_min_speedup": TARGETS["dagster_speedup"],
                         "speedup_met": statistics.median(sp) >= TARGETS["dagster_speedup"]})
        doc["cases"]["chain40"] = case
        s = case["swan"]
        log(f"chain of {CHAIN}: Swan median {s['median']:.0f} ms (min {s['min']:.0f}, max {s['max']:.0f}); "
            f"target <= {TARGETS['chain_ms']} ms: {'met' if case['met'] else 'MISSED'}; following the "
            f"events long poll {case['swan_events_follow']['median']:.0f} ms")
        bm = case["breakdown_median"]
        log(f"  per task (medians over the repetitions): {bm['per_task_ms']:.1f} ms = queued "
            f"{bm['task_queued_ms']:.1f} + run {bm['task_run_ms']:.1f} (job's own wall {bm['task_usage_wall_ms']:.1f}) "
            f"+ hand-off {bm['handoff_ms']:.1f}; inside a task: prepare {bm.get('task_prepare_ms', 0):.1f}, "
            f"SQL {bm.get('task_sql_ms', 0):.1f}, commit {bm.get('task_commit_ms', 0):.1f}, committed -> next task "
            f"created {bm.get('committed_to_next_task_created_ms', 0):.1f}; submit -> flow created {bm['submit_to_flow_created_ms']:.1f}, "
            f"flow start -> first task {bm['flow_started_to_first_task_created_ms']:.1f}, last task -> flow end "
            f"{bm['last_task_finished_to_flow_finished_ms']:.1f}, flow end -> client {bm['flow_finished_to_client_ms']:.1f}")
        if not case["met"]:
            failed.append("chain of 40")
        if dag:
            sp = case["speedup_vs_persistent_summary"]
            log(f"  Dagster persistent median {case['dagster_persistent']['median']:.0f} ms, ephemeral "
                f"{case['dagster_ephemeral']['median']:.0f} ms: Swan {sp['median']:.2f}x faster than persistent "
                f"(min {sp['min']:.2f}, max {sp['max']:.2f}; target >= {TARGETS['dagster_speedup']}: "
                f"{'met' if case['speedup_met'] else 'MISSED'}), "
                f"{case['speedup_vs_ephemeral_summary']['median']:.2f}x than ephemeral")
            if not case["speedup_met"]:
                failed.append("Swan vs Dagster")

        # 2. 100 tasks in 10 phases of 10, parallelism 4.
        with Window(monitor, doc, "wide"):
            swan.run_flow("wide100")
            wide_ms, wparts, wev_ms = [], [], []
            for rep in range(args.repeat):
                ms, answer, t0, t1, _ = swan.run_flow("wide100")
                wide_ms.append(ms)
                wparts.append(breakdown(answer, t0, t1, WIDTH, swan.task_events(answer)))
                wev_ms.append(swan.run_flow("wide100", "events")[0])
                b = wparts[-1]
                log(f"wide {rep + 1}/{args.repeat}: Swan {ms:.0f} ms, following the events {wev_ms[-1]:.0f} ms "
                    f"(phase {b['phase_span_ms']:.0f} ms, "
                    f"hand-off between phases {b['phase_handoff_ms']:.1f}, task queued {b['task_queued_ms']:.1f} "
                    f"run {b['task_run_ms']:.1f}, at most {b['max_tasks_running']} running)")
        case = {"tasks": PHASES * WIDTH, "phases": PHASES, "parallelism": PARALLELISM,
                "follow": f"poll every {POLL_S * 1000:g} ms",
                "swan_ms": [round(x, 1) for x in wide_ms], "swan": pct_summary(wide_ms),
                "swan_events_follow_ms": [round(x, 1) for x in wev_ms], "swan_events_follow": pct_summary(wev_ms),
                "target_max_ms": TARGETS["wide_ms"], "met": statistics.median(wide_ms) <= TARGETS["wide_ms"],
                "breakdown": wparts, "breakdown_median": summarize_breakdowns(wparts)}
        doc["cases"]["wide100"] = case
        s = case["swan"]
        log(f"100 tasks in {PHASES} phases, parallelism {PARALLELISM}: Swan median {s['median']:.0f} ms "
            f"(min {s['min']:.0f}, max {s['max']:.0f}); target <= {TARGETS['wide_ms']} ms: "
            f"{'met' if case['met'] else 'MISSED'}")
        if not case["met"]:
            failed.append("100 tasks in 10 phases")
        doc["server_rss_mib"] = round(common.proc_status(swan.server.proc.pid).get("VmRSS", 0) / 1024, 1)
    except common.BenchError as e:
        print(f"bench failed: {e.what}: {e.error}", file=sys.stderr)
        doc["error"] = {"what": e.what, "error": e.error}
        code = 2
    except KeyboardInterrupt:
        doc["error"] = {"what": "interrupted", "error": ""}
        code = 130
    finally:
        monitor.stop()
        if dag:
            dag.stop()
        if swan:
            swan.stop()
        doc["load_at_end"] = load_facts()
        doc["failed"] = failed
        out = BENCH / "results" / ("flows-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + ".json")
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(doc, indent=1) + "\n")
        log(f"results: {out}")
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if code:
        return code
    if failed:
        log("targets missed: " + ", ".join(failed))
        return 1
    log("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
