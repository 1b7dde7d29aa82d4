#!/usr/bin/env python3
"""Swan connectors benchmark: Swan's built-in connectors run as jobs through a real `swan server`,
side by side with the plain tools that move the same data, in one run on one machine.

  1. REST: 100,000 nested items (id, name, price, an object, an array of 2-4 tags) served by npm
     json-server 0.17.4 on 127.0.0.1 in 100 pages of 1,000 (offset paging, `_start`/`_limit`):
       curl   one invocation fetching the 100 page URLs on one connection to /dev/null (the floor)
       Swan   a `keboola.ex-generic-v2` job (offset scroller), API submit -> success: the items
              table and its tags child table committed
       dlt    dlt's `rest_api` source into DuckDB (PyPI dlt 1.31, bench/.venv-peers; --no-dlt)
     Target: Swan <= 1.25x curl.
  2. PostgreSQL -> Swan: 5M rows x 10 columns generated in PostgreSQL 15, a `keboola.ex-db-pgsql`
     job vs `psql -c "\\copy (SELECT * FROM t) TO 'x.csv' CSV HEADER"`. Target <= 1.25x.
  3. Swan -> PostgreSQL: the 5M-row Swan table by a `keboola.wr-db-pgsql` job (full load) into an
     empty target vs `psql -c "\\copy t2 FROM 'x.csv' CSV HEADER"` of the table's CSV export into an
     empty table of the same schema. Target <= 1.3x.
  4. Peak RSS of the server (the connectors run in its process) during each connector's job, with
     the source at 1/10 and at full size: VmRSS sampled every 50 ms, baseline before the job.

Every repetition's pair is printed and stored with its ratio (spread: min/max); baseline and Swan
alternate their order each repetition, after one untimed warm-up of each. Results go to
bench/results/connectors-<UTC time>.json. Run on an otherwise idle machine.

  python3 bench/connectors.py                # 5M rows, 5 repetitions
  python3 bench/connectors.py --quick        # 200k rows, 2 repetitions
  python3 bench/connectors.py --only rest --no-dlt

Needs: build/swan, curl, node + npm (json-server is installed into bench/.node-peers), PostgreSQL
15 server binaries (/usr/lib/postgresql/15/bin), and for dlt the PyPI index (bench/.venv-peers).
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as common  # noqa: E402  (bench/run.py: server, API, machine facts)
from jobs import KeepAlive  # noqa: E402  (bench/jobs.py: one keep-alive connection)

ROOT = common.ROOT
DATA = common.DATA
BENCH = ROOT / "bench"
VENV = BENCH / ".venv-peers"
NODE_PEERS = BENCH / ".node-peers"
JSON_SERVER_VERSION = "0.17.4"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_PASSWORD = "swan-bench-pg"
PROJECT = "connbench"

TARGETS = {"rest": 1.25, "pg_extract": 1.25, "pg_write": 1.3}

CATEGORIES = ["tools", "garden", "kitchen", "office", "toys", "sports", "books", "audio", "video",
              "outdoor", "bath", "lighting"]
TAGS = ["red", "blue", "green", "sale", "new", "eco", "bulk", "gift"]

log = common.log


class Skip(Exception):
    """A peer that cannot be measured here (missing tool, failed install): said, not fatal."""


def run_cmd(cmd, what=None, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise common.BenchError(what or " ".join(map(str, cmd)),
                                f"exit {p.returncode}: {(p.stderr or p.stdout).strip()[-3000:]}")
    return p


def load_facts(servers: bool = False) -> dict:
    """The load average and what else is running that competes for the CPU (a build; at the start
    also servers: another benchmark's swan, postgres or json-server)."""
    names = ("cc1plus", "cc1", "ld", "ld.gold", "ld.lld", "ninja", "make", "cmake", "ctest")
    if servers:
        names += ("swan", "postgres", "node", "perf")
    busy = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                comm = (d / "comm").read_text().strip()
            except OSError:
                continue
            if comm in names:
                busy.append(comm)
    return {"loadavg": [round(x, 2) for x in os.getloadavg()], "busy_processes": sorted(busy)}


class Interference:
    """CPU time that processes outside this benchmark use while it runs (a build, tests, another
    benchmark): every second, the utime + stime of each process that is neither this script's
    descendant nor our PostgreSQL's; `window()` gives a case's share, by command."""

    def __init__(self):
        self.roots = {os.getpid()}
        self.tick = os.sysconf("SC_CLK_TCK")
        self.seen = {}   # pid -> (start time, cpu ticks) at the last scan
        self.cpu = {}    # comm -> ticks used by others since the monitor started
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._scan(first=True)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def add_root(self, pid: int):
        with self.lock:
            self.roots.add(pid)

    def _scan(self, first=False):
        procs = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    text = f.read()
            except OSError:
                continue
            comm = text[text.index("(") + 1:text.rindex(")")]
            fields = text[text.rindex(")") + 2:].split()
            # fields[1] = ppid, [11] utime, [12] stime, [19] start time (after "state")
            procs[int(d)] = (comm, int(fields[1]), int(fields[11]) + int(fields[12]), fields[19])
        children = {}
        for pid, (_, ppid, _, _) in procs.items():
            children.setdefault(ppid, []).append(pid)
        with self.lock:
            ours, todo = set(), list(self.roots)
        while todo:
            pid = todo.pop()
            if pid not in ours:
                ours.add(pid)
                todo.extend(children.get(pid, []))
        seen = {}
        with self.lock:
            for pid, (comm, ppid, ticks, start) in procs.items():
                seen[pid] = (start, ticks)
                if pid in ours or pid in (1, 2) or ppid == 2:  # ours, init, kernel threads
                    continue
                before = self.seen.get(pid)
                base = before[1] if before and before[0] == start else (ticks if first else 0)
                if ticks > base:
                    self.cpu[comm] = self.cpu.get(comm, 0) + ticks - base
            self.seen = seen

    def _loop(self):
        while not self._stop.wait(1.0):
            try:
                self._scan()
            except (OSError, ValueError, IndexError):
                pass

    def mark(self) -> dict:
        self._scan()
        with self.lock:
            return dict(self.cpu)

    def since(self, mark: dict) -> dict:
        now = self.mark()
        used = {c: (t - mark.get(c, 0)) / self.tick for c, t in now.items() if t > mark.get(c, 0)}
        top = sorted(used.items(), key=lambda kv: -kv[1])[:8]
        return {"cpu_s": round(sum(used.values()), 1), "top": {c: round(v, 1) for c, v in top}}

    def stop(self):
        self._stop.set()


class Window:
    """`with Window(monitor, doc, "pg_extract"):` records the other processes' CPU during a case."""

    def __init__(self, monitor: Interference, doc: dict, key: str):
        self.monitor, self.doc, self.key = monitor, doc, key

    def __enter__(self):
        self.mark = self.monitor.mark()
        self.t0 = time.monotonic()

    def __exit__(self, *exc):
        used = self.monitor.since(self.mark)
        used["wall_s"] = round(time.monotonic() - self.t0, 1)
        self.doc.setdefault("interference", {})[self.key] = used
        if used["cpu_s"] > 2:
            log(f"warning: other processes used {used['cpu_s']} CPU-seconds during {self.key} "
                f"({used['wall_s']} s): {used['top']}")
        return False


def pct_summary(values):
    return {"median": round(statistics.median(values), 4), "min": round(min(values), 4),
            "max": round(max(values), 4)} if values else None


# --------------------------------------------------------------------------------------------
# Memory of the server: VmRSS sampled every 50 ms while a job runs


def vm_rss_kib(pid: int) -> int:
    return common.proc_status(pid).get("VmRSS", 0)


class RssSampler:
    def __init__(self, pid: int, interval: float = 0.05):
        self.pid = pid
        self.interval = interval
        self.samples = []
        self._stop = threading.Event()

    def __enter__(self):
        self.baseline = vm_rss_kib(self.pid)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def _loop(self):
        while not self._stop.is_set():
            try:
                self.samples.append(vm_rss_kib(self.pid))
            except OSError:
                return
            self._stop.wait(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.samples.append(vm_rss_kib(self.pid))
        self.max = max(self.samples)
        self.after = self.samples[-1]
        return False

    def summary(self) -> dict:
        return {"baseline_mib": round(self.baseline / 1024, 1), "max_mib": round(self.max / 1024, 1),
                "after_mib": round(self.after / 1024, 1),
                "growth_mib": round((self.max - self.baseline) / 1024, 1), "samples": len(self.samples)}


# --------------------------------------------------------------------------------------------
# The Swan server: start, restart on the same data (a fresh process), jobs through the API


class Swan:
    def __init__(self, binary: Path, data_dir: Path):
        self.server = common.SwanServer(binary, data_dir)

    def start(self):
        self.server.start()
        admin = common.Api(self.server.url, self.server.admin_token)
        created, _ = admin.call("POST", "/v1/projects", {"name": PROJECT})
        self.token = created["token"]["secret"]
        self.api = KeepAlive(self.server.url, self.token)
        self.slow = common.Api(self.server.url, self.token)

    def restart(self):
        """A fresh server process on the same data directory (the admin token is shown only at the
        first start: wait for health instead)."""
        s = self.server
        s.stop()
        with open(s.stdout_path, "ab") as out, open(s.stderr_path, "ab") as err:
            s.proc = subprocess.Popen(s.cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if s.proc.poll() is not None:
                raise common.BenchError("swan server exited at restart", s.stderr_path.read_text()[-2000:])
            try:
                with urllib.request.urlopen(s.url + "/v1/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.05)
        else:
            raise common.BenchError("swan server did not come back after a restart", "")
        self.api = KeepAlive(s.url, self.token)

    @property
    def pid(self) -> int:
        return self.server.proc.pid

    def stop(self):
        self.server.stop()

    def save_config(self, component: str, config_id: str, configuration: dict):
        # Create, or on a second call (same server) a new version of the same configuration.
        try:
            self.api.call("POST", f"/v1/projects/{PROJECT}/configs",
                          {"component_id": component, "id": config_id, "configuration": configuration})
        except common.BenchError as e:
            if "409" not in e.error:
                raise
            self.api.call("POST", f"/v1/projects/{PROJECT}/configs/{config_id}",
                          {"configuration": configuration})

    def run_job(self, config_id: str):
        """POST run, follow the events until the job ends: (ms submit -> end, job, events)."""
        start = time.perf_counter()
        answer, _ = self.api.call("POST", f"/v1/projects/{PROJECT}/configs/{config_id}/run", {})
        job_id = answer["job"]["id"]
        after, events = 0, []
        while True:
            ev, _ = self.api.call("GET", f"/v1/projects/{PROJECT}/jobs/{job_id}/events?wait=30&after={after}")
            for e in ev["events"]:
                after = e["id"]
                events.append(e)
            if ev["finished"] and not ev["events"]:
                break
        ms = (time.perf_counter() - start) * 1000
        job, _ = self.api.call("GET", f"/v1/projects/{PROJECT}/jobs/{job_id}")
        job = job["job"]
        if job["status"] != "success":
            raise common.BenchError(f"job {job_id} of configuration {config_id}",
                                    json.dumps(job)[:2000] + "\n" +
                                    "\n".join(f"{e['time']} {e['level']} {e['message']}" for e in events[-20:]))
        return ms, job, events

    def table(self, table_id: str) -> dict:
        answer, _ = self.api.call("GET", f"/v1/projects/{PROJECT}/tables/{table_id}")
        return answer["table"]


def job_outputs(job: dict) -> dict:
    return {o.get("table"): o.get("rows") for o in job.get("outputs", [])}


def compact_events(events: list) -> list:
    """The job's events as `+ms since the first, +ms since the previous: source: message`: the
    phases of the job (fetching, writing the CSV, loading, committing) and their times."""
    def at(e):
        try:
            return datetime.strptime(e["time"].replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
        except (KeyError, ValueError):
            return None
    out, first, prev = [], None, None
    for e in events:
        t = at(e)
        if t is not None and first is None:
            first = prev = t
        stamp = f"+{(t - first) * 1000:.0f} ms (+{(t - prev) * 1000:.0f})" if t is not None else e.get("time")
        out.append(f"{stamp} {e.get('level')} {e.get('source')}: {e.get('message')}")
        prev = t if t is not None else prev
    return out


def short_symbol(line: str) -> str:
    """perf's line with C++ template arguments folded (nlohmann::basic_json<...> is 300 chars)."""
    while True:
        folded = re.sub(r"<(?:[^<>]|<>)+>", "<>", line)
        if folded == line:
            return line
        line = folded


# --------------------------------------------------------------------------------------------
# json-server and the REST data


def ensure_json_server() -> Path:
    cli = NODE_PEERS / "node_modules" / "json-server" / "lib" / "cli" / "bin.js"
    pkg = NODE_PEERS / "node_modules" / "json-server" / "package.json"
    if pkg.exists() and json.loads(pkg.read_text()).get("version") == JSON_SERVER_VERSION:
        return cli
    if not shutil.which("npm") or not shutil.which("node"):
        raise common.BenchError("json-server needs node and npm", "not found on PATH")
    log(f"installing json-server {JSON_SERVER_VERSION} into bench/.node-peers (once)")
    NODE_PEERS.mkdir(exist_ok=True)
    run_cmd(["npm", "install", "--no-audit", "--no-fund", "--no-save", "--prefix", str(NODE_PEERS),
             f"json-server@{JSON_SERVER_VERSION}"], "npm install json-server")
    return cli


def make_items(n: int):
    """n deterministic nested items and the number of tags they hold."""
    items, tags_total = [], 0
    for i in range(1, n + 1):
        k = (i * 2654435761) % (1 << 32)
        ntags = 2 + k % 3
        tags = [TAGS[(k >> (3 * j + 2)) % len(TAGS)] for j in range(ntags)]
        tags_total += ntags
        items.append({"id": i, "name": f"Item {i:06d} {CATEGORIES[(k >> 7) % len(CATEGORIES)]}",
                      "price": round((k % 100000) / 100 + 0.01, 2),
                      "attributes": {"category": CATEGORIES[k % len(CATEGORIES)], "stock": (k >> 11) % 500},
                      "tags": tags})
    return items, tags_total


class JsonServer:
    def __init__(self, cli: Path, db: Path, workdir: Path):
        self.cli, self.db, self.workdir = cli, db, workdir
        self.proc = None

    def start(self):
        for attempt in range(5):
            self.port = common.free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self.log_path = self.workdir / "json-server.log"
            with open(self.log_path, "wb") as out:
                self.proc = subprocess.Popen(
                    # `--ng`, not `--no-gzip`: json-server 0.17.4's yargs reads `--no-gzip` as
                    # "gzip: false" and keeps compressing (brotli for a client that offers it).
                    ["node", str(self.cli), "--host", "127.0.0.1", "--port", str(self.port), "--quiet",
                     "--read-only", "--ng", str(self.db)],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    req = urllib.request.Request(self.url + "/items?_start=0&_limit=1",
                                                 headers={"Accept-Encoding": "deflate, gzip, br, zstd"})
                    with urllib.request.urlopen(req, timeout=2) as r:
                        if r.status == 200:
                            # Every client must get the same identity bytes (Swan's libcurl offers
                            # every encoding, dlt's requests gzip, curl none).
                            if r.headers.get("Content-Encoding"):
                                raise common.BenchError("json-server compresses its answers",
                                                        f"Content-Encoding: {r.headers['Content-Encoding']}")
                            return
                except OSError:
                    time.sleep(0.1)
            self.stop()
        raise common.BenchError("json-server did not start", self.log_path.read_text()[-2000:])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def rest_config(port: int, endpoint: str, bucket: str, page: int) -> dict:
    return {"parameters": {
        "api": {"baseUrl": f"http://127.0.0.1:{port}/",
                "pagination": {"method": "offset", "limit": page, "limitParam": "_limit",
                               "offsetParam": "_start"}},
        "config": {"outputBucket": bucket, "jobs": [{"endpoint": endpoint}]}}}


def curl_fetch(base: str, endpoint: str, items: int, page: int, workdir: Path) -> float:
    """One curl process fetching every page on one connection; checks sizes and connections."""
    pages = (items + page - 1) // page
    cfg = workdir / f"curl-{endpoint}.cfg"
    cfg.write_text("".join(f'url = "{base}/{endpoint}?_start={i * page}&_limit={page}"\n'
                           f'output = "/dev/null"\n' for i in range(pages)))
    cmd = ["curl", "--silent", "--show-error", "--fail", "--http1.1", "--config", str(cfg),
           "--write-out", "%{http_code} %{size_download} %{num_connects}\\n"]
    start = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    ms = (time.perf_counter() - start) * 1000
    if p.returncode != 0:
        raise common.BenchError(" ".join(cmd), p.stderr.strip())
    lines = [line.split() for line in p.stdout.splitlines()]
    if len(lines) != pages or any(code != "200" for code, _, _ in lines):
        raise common.BenchError(" ".join(cmd), f"expected {pages} answers 200, got: {p.stdout[:500]}")
    connects = sum(int(c) for _, _, c in lines)
    if connects != 1:
        raise common.BenchError(" ".join(cmd), f"{connects} connections, expected 1")
    curl_fetch.last_bytes = sum(int(b) for _, b, _ in lines)
    return ms


DLT_SCRIPT = r'''
import json, sys, time
import dlt
from dlt.sources.rest_api import rest_api_source

port, endpoint, page, db_path, pipelines_dir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
imported = time.perf_counter()
source = rest_api_source({
    "client": {"base_url": f"http://127.0.0.1:{port}/"},
    "resource_defaults": {"write_disposition": "replace"},
    "resources": [{"name": endpoint, "endpoint": {
        "path": endpoint,
        "paginator": {"type": "offset", "limit": page, "offset_param": "_start",
                      "limit_param": "_limit", "total_path": None, "stop_after_empty_page": True}}}],
})
pipeline = dlt.pipeline(pipeline_name="swan_bench_rest", destination=dlt.destinations.duckdb(db_path),
                        dataset_name="rest", pipelines_dir=pipelines_dir)
start = time.perf_counter()
pipeline.run(source)
run_ms = (time.perf_counter() - start) * 1000
import duckdb
con = duckdb.connect(db_path, read_only=True)
tables = {t: con.execute(f'SELECT count(*) FROM rest."{t}"').fetchone()[0]
          for (t,) in con.execute("SELECT table_name FROM information_schema.tables "
                                  "WHERE table_schema = 'rest' AND table_name NOT LIKE '_dlt%'").fetchall()}
print(json.dumps({"run_ms": run_ms, "source_setup_ms": (start - imported) * 1000, "tables": tables,
                  "dlt": dlt.__version__, "duckdb": duckdb.__version__}))
'''


def ensure_dlt() -> Path:
    py = VENV / "bin" / "python"

    def has_dlt():
        return py.exists() and subprocess.run(
            [str(py), "-c", "import dlt, duckdb, pyarrow; assert dlt.__version__.startswith('1.31'); "
             "assert duckdb.__version__.startswith('1.4')"], capture_output=True).returncode == 0

    if has_dlt():
        return py
    log("installing dlt[duckdb] 1.31, pyarrow and duckdb 1.4 into bench/.venv-peers (once)")
    try:
        if not py.exists():
            run_cmd(["/usr/bin/python3", "-m", "venv", str(VENV)], "python3 -m venv bench/.venv-peers")
        # duckdb 2.x (pulled by default) breaks dlt 1.31 (../shared/TOOLCHAIN.md): pinned.
        # `python -m pip`, not bin/pip: a copied venv's scripts can point at the original's python.
        run_cmd([str(py), "-m", "pip", "install", "-q", "dlt[duckdb]>=1.31,<1.32", "pyarrow",
                 "duckdb>=1.4,<1.5"], "pip install dlt[duckdb] pyarrow duckdb")
    except common.BenchError as e:
        raise Skip(f"{e.what}: {e.error}")
    if not has_dlt():
        raise Skip("dlt 1.31 with duckdb 1.4 does not import in bench/.venv-peers")
    return py


def dlt_run(py: Path, script: Path, port: int, endpoint: str, page: int, workdir: Path):
    db = workdir / "dlt.duckdb"
    pipelines = workdir / "dlt-pipelines"
    db.unlink(missing_ok=True)
    shutil.rmtree(pipelines, ignore_errors=True)
    env = dict(os.environ, RUNTIME__DLTHUB_TELEMETRY="false", RUNTIME__LOG_LEVEL="WARNING")
    cmd = [str(py), str(script), str(port), endpoint, str(page), str(db), str(pipelines)]
    start = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir)
    wall = (time.perf_counter() - start) * 1000
    if p.returncode != 0:
        raise common.BenchError(" ".join(cmd), (p.stderr or p.stdout)[-3000:])
    answer = json.loads(p.stdout.strip().splitlines()[-1])
    answer["process_ms"] = wall
    return answer


# --------------------------------------------------------------------------------------------
# PostgreSQL 15 on an ephemeral port (as tests/pg_server.h starts it)


class Postgres:
    # log_min_duration_statement: the server logs each statement over 500 ms with its duration,
    # so the results show how long the connectors' own statements (COPY, INSERT ... SELECT) took.
    SETTINGS = ["fsync=off", "max_wal_size=4GB", "autovacuum=off", "log_min_duration_statement=500"]

    def __init__(self):
        self.dir = None
        self.started = False

    def _as_pg(self, cmd):
        return (["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []) + cmd

    def start(self):
        if not (PG_BIN / "initdb").exists():
            raise common.BenchError("PostgreSQL 15 server binaries", f"{PG_BIN}/initdb not found "
                                    "(apt-get install postgresql-15)")
        self.dir = Path(tempfile.mkdtemp(prefix="swan-bench-pg-"))
        (self.dir / "pw").write_text(PG_PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            shutil.chown(self.dir / "pw", "postgres", "postgres")
        os.chmod(self.dir, 0o700)
        run_cmd(self._as_pg([str(PG_BIN / "initdb"), "-D", str(self.dir / "data"), "-U", "postgres",
                             f"--pwfile={self.dir / 'pw'}", "--auth-local=trust",
                             "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync"]),
                "initdb")
        error = ""
        for attempt in range(5):
            self.port = common.free_port()
            opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} " + \
                " ".join(f"-c {s}" for s in self.SETTINGS)
            p = subprocess.run(self._as_pg([str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-l",
                                            str(self.dir / "log"), "-w", "-t", "30", "-o", opts, "start"]),
                               capture_output=True, text=True)
            if p.returncode == 0:
                self.started = True
                self.postmaster_pid = int((self.dir / "data" / "postmaster.pid").read_text().split()[0])
                return
            error = p.stderr + (self.dir / "log").read_text(errors="replace")[-2000:]
        raise common.BenchError("pg_ctl start", error)

    def psql_cmd(self, *args):
        return [str(PG_BIN / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                str(self.port), "-U", "postgres", "-d", "postgres", *args]

    @property
    def env(self):
        return dict(os.environ, PGPASSWORD=PG_PASSWORD)

    def sql(self, sql: str) -> str:
        p = run_cmd(self.psql_cmd("-At", "-c", sql), f"psql -c {sql!r}", env=self.env)
        return p.stdout.strip()

    def timed_psql(self, command: str) -> float:
        cmd = self.psql_cmd("-c", command)
        start = time.perf_counter()
        run_cmd(cmd, "psql -c " + repr(command), env=self.env)
        return (time.perf_counter() - start) * 1000

    def log_mark(self) -> int:
        try:
            return (self.dir / "log").stat().st_size
        except OSError:
            return 0

    def durations_since(self, mark: int) -> list:
        """The server's `duration: ... ms  statement: ...` lines logged after `mark`, shortened."""
        try:
            with open(self.dir / "log", "rb") as f:
                f.seek(mark)
                text = f.read().decode(errors="replace")
        except OSError:
            return []
        out = []
        for line in text.splitlines():
            if "duration:" in line:
                line = line.split("LOG:", 1)[-1].strip()
                out.append(line if len(line) <= 160 else line[:157] + "...")
        return out

    def db_params(self) -> dict:
        return {"host": "127.0.0.1", "port": self.port, "database": "postgres", "user": "postgres",
                "#password": PG_PASSWORD}

    def stop(self):
        if self.started:
            subprocess.run(self._as_pg([str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast",
                                        "-w", "stop"]), capture_output=True)
            self.started = False
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)


PG_TABLE_SQL = """
DROP TABLE IF EXISTS {name};
CREATE TABLE {name} AS SELECT
  g::bigint                                                    AS id,
  (1 + (g * 7919) % 200000)::int                               AS customer_id,
  'customer ' || (g * 31 % 99991)::text || CASE WHEN g % 10 = 0
     THEN ', "vip", since ' || (2000 + g % 25)::text ELSE '' END AS customer_name,
  ((g * 104729) % 1000000 / 100.0)::numeric(12,2)              AS amount,
  ((g * 13) % 100003) / 997.0::double precision                AS score,
  DATE '2021-01-01' + (g % 1461)::int                          AS order_date,
  TIMESTAMPTZ '2021-01-01 00:00:00+00' + (g * 17 % 126230400) * INTERVAL '1 second' AS created_at,
  g % 3 = 0                                                    AS is_paid,
  (ARRAY['new','paid','shipped','delivered','cancelled','returned'])[1 + (g % 6)::int] AS status,
  jsonb_build_object('k', g % 1000, 'tag', 't' || (g % 7)::text, 'ok', g % 2 = 0) AS doc
FROM generate_series(1::bigint, {rows}) g;
"""


# --------------------------------------------------------------------------------------------
# Cases


def perf_profile(args, swan: Swan, config_id: str, name: str, workdir: Path, prepare=None):
    """With --perf: one more (untimed) run of the job under a system-wide `perf record` (the Swan
    server and, in the PostgreSQL cases, the postgres backend it talks to); the flat profile's
    top lines (self time by command, library and symbol) go into the results."""
    if not args.perf:
        return None
    if not shutil.which("perf"):
        return {"skipped": "perf not found"}
    if prepare:
        prepare()
    data = workdir / f"perf-{name}.data"
    perf_log = workdir / f"perf-{name}.log"
    for attempt in range(3):
        with open(perf_log, "wb") as err:
            rec = subprocess.Popen(["perf", "record", "-a", "-F", "499", "-o", str(data)],
                                   stdout=subprocess.DEVNULL, stderr=err)
        time.sleep(1.0)
        if rec.poll() is None:
            break
    else:
        return {"error": "perf record does not start: " + perf_log.read_text(errors="replace")[-1000:]}
    ms, job, events = swan.run_job(config_id)
    rec.send_signal(signal.SIGINT)
    rec.wait(timeout=600)

    def report(sort):
        r = subprocess.run(["perf", "report", "--stdio", "--no-children", "-i", str(data), "--sort", sort,
                            "--percent-limit", "0.5"], capture_output=True, text=True)
        return [short_symbol(line.rstrip()) for line in r.stdout.splitlines()
                if line.strip() and not line.startswith("#")], r.stderr

    top, err = report("comm,dso,sym")
    by_dso, _ = report("comm,dso")
    if not top:
        log(f"perf report printed nothing: {err.strip()[-500:]}")
        return {"job_ms": round(ms, 1), "error": (perf_log.read_text(errors="replace") + err)[-2000:],
                "perf_record_exit": rec.returncode, "events": compact_events(events)}
    log(f"perf profile (whole machine) of one more {name} job ({ms:.0f} ms), top by self time:\n  "
        + "\n  ".join(line[:150] for line in top[:25]))
    return {"job_ms": round(ms, 1), "by_comm_dso": by_dso[:15], "top": top[:60],
            "events": compact_events(events)}


def ratio_case(name, swan_ms, base_ms, target, extra=None):
    ratios = [s / b for s, b in zip(swan_ms, base_ms)]
    case = {"swan_ms": [round(x, 1) for x in swan_ms], "baseline_ms": [round(x, 1) for x in base_ms],
            "ratios": [round(r, 4) for r in ratios], "ratio": pct_summary(ratios),
            "swan": pct_summary(swan_ms), "baseline": pct_summary(base_ms),
            "ratio_of_medians": round(statistics.median(swan_ms) / statistics.median(base_ms), 4),
            "target_max_ratio": target,
            "met": statistics.median(ratios) <= target if target else None}
    if extra:
        case.update(extra)
    r = case["ratio"]
    log(f"{name}: Swan median {statistics.median(swan_ms):.0f} ms vs baseline "
        f"{statistics.median(base_ms):.0f} ms: ratio median {r['median']:.3f} (min {r['min']:.3f}, "
        f"max {r['max']:.3f})" + (f"; target <= {target}: {'met' if case['met'] else 'MISSED'}" if target else ""))
    return case


def timed_sync():
    # Dirty pages of the previous step must not be written back during the next timed step.
    os.sync()


def case_rest(args, swan: Swan, js: JsonServer, items: int, tags: int, workdir: Path, doc: dict):
    R, page = args.repeat, args.page
    swan.save_config("keboola.ex-generic-v2", "rest", rest_config(js.port, "items", "rest", page))
    expect = {"in.c-rest.items": items, "in.c-rest.items_tags": tags}
    dlt_py = None
    dlt_note = None
    if not args.no_dlt:
        try:
            dlt_py = ensure_dlt()
        except Skip as e:
            dlt_note = f"dlt not measured: {e}"
            log(dlt_note)
    else:
        dlt_note = "dlt not measured: --no-dlt"
    script = workdir / "dlt_rest.py"
    script.write_text(DLT_SCRIPT)

    def swan_step():
        timed_sync()
        with RssSampler(swan.pid) as rss:
            ms, job, events = swan.run_job("rest")
        out = job_outputs(job)
        if out != expect:
            raise common.BenchError("Swan REST job outputs", f"got {out}, expected {expect}")
        return ms, job, events, rss

    def dlt_step():
        timed_sync()
        answer = dlt_run(dlt_py, script, js.port, "items", page, workdir)
        got = answer["tables"]
        if got.get("items") != items or got.get("items__tags") != tags:
            raise common.BenchError("dlt rest_api pipeline row counts", f"got {got}, expected items {items}, "
                                    f"items__tags {tags}")
        return answer

    def curl_step():
        timed_sync()
        return curl_fetch(js.url, "items", items, page, workdir)

    log(f"REST warm-up: curl, Swan, {'dlt' if dlt_py else '(no dlt)'}")
    curl_step()
    _, job, _, _ = swan_step()
    if dlt_py:
        answer = dlt_step()
        doc["peers"]["dlt"] = answer["dlt"]
        doc["peers"]["dlt_duckdb"] = answer["duckdb"]
    columns = {t: [c["name"] for c in swan.table(t)["columns"]] for t in expect}
    curl_ms, swan_ms, dlt_ms, dlt_proc_ms, usage, rss, orders = [], [], [], [], [], [], []
    events = []
    for rep in range(R):
        order = ["curl", "swan", "dlt"] if rep % 2 == 0 else ["dlt", "swan", "curl"]
        if not dlt_py:
            order.remove("dlt")
        orders.append(order)
        for step in order:
            if step == "curl":
                curl_ms.append(curl_step())
            elif step == "swan":
                ms, job, events, r = swan_step()
                swan_ms.append(ms)
                usage.append(job.get("usage"))
                rss.append(r.summary())
            else:
                answer = dlt_step()
                dlt_ms.append(answer["run_ms"])
                dlt_proc_ms.append(answer["process_ms"])
        line = (f"REST rep {rep + 1}/{R} ({' -> '.join(order)}): curl {curl_ms[-1]:.0f} ms, Swan {swan_ms[-1]:.0f} ms "
                f"({swan_ms[-1] / curl_ms[-1]:.2f}x)")
        if dlt_py:
            line += (f", dlt run {dlt_ms[-1]:.0f} ms ({dlt_ms[-1] / curl_ms[-1]:.2f}x; whole process "
                     f"{dlt_proc_ms[-1]:.0f} ms)")
        log(line)
    case = ratio_case(f"REST {items} items (Swan / curl)", swan_ms, curl_ms, TARGETS["rest"], {
        "items": items, "tags": tags, "pages": (items + page - 1) // page, "page_size": page,
        "bytes_fetched_by_curl": curl_fetch.last_bytes, "order": orders, "swan_usage": usage,
        "swan_rss": rss, "swan_tables": expect, "swan_columns": columns,
        "swan_events_last_rep": compact_events(events),
        "swan_what": "keboola.ex-generic-v2 job, API submit -> success (items + items_tags committed)"})
    case["baseline_what"] = "curl, one process, the page URLs on one connection, to /dev/null"
    case["perf"] = perf_profile(args, swan, "rest", "rest", workdir)
    if dlt_py:
        d_ratios = [d / c for d, c in zip(dlt_ms, curl_ms)]
        p_ratios = [d / c for d, c in zip(dlt_proc_ms, curl_ms)]
        case["dlt"] = {"run_ms": [round(x, 1) for x in dlt_ms], "process_ms": [round(x, 1) for x in dlt_proc_ms],
                       "ratios_run_vs_curl": [round(x, 4) for x in d_ratios],
                       "ratio_run_vs_curl": pct_summary(d_ratios),
                       "ratios_process_vs_curl": [round(x, 4) for x in p_ratios],
                       "ratio_process_vs_curl": pct_summary(p_ratios),
                       "swan_speedup_vs_dlt_run": pct_summary([d / s for d, s in zip(dlt_ms, swan_ms)]),
                       "what": "dlt rest_api source (offset paginator) into DuckDB; run_ms = pipeline.run() "
                               "(extract, normalize, load), process_ms = the whole python process"}
        log(f"REST dlt / curl: run median {statistics.median(d_ratios):.2f}x (min {min(d_ratios):.2f}, "
            f"max {max(d_ratios):.2f}); whole process {statistics.median(p_ratios):.2f}x")
    else:
        case["dlt"] = {"skipped": dlt_note}
    doc["cases"]["rest"] = case


def case_pg_extract(args, swan: Swan, pg: Postgres, rows: int, workdir: Path, doc: dict):
    R = args.repeat
    swan.save_config("keboola.ex-db-pgsql", "pgx", {"parameters": {
        "db": pg.db_params(), "table": {"schema": "public", "tableName": "t"}, "outputTable": "in.c-pg.t"}})
    out_csv = workdir / "psql_t.csv"
    copy = f"\\copy (SELECT * FROM t) TO '{out_csv}' CSV HEADER"

    def psql_step():
        out_csv.unlink(missing_ok=True)
        timed_sync()
        return pg.timed_psql(copy)

    def swan_step():
        timed_sync()
        with RssSampler(swan.pid) as rss:
            ms, job, events = swan.run_job("pgx")
        out = job_outputs(job)
        if out != {"in.c-pg.t": rows}:
            raise common.BenchError("Swan PostgreSQL extractor job outputs", f"got {out}, expected {rows} rows")
        return ms, job, events, rss

    log("PG extract warm-up: psql, Swan")
    psql_step()
    swan_step()
    base, swan_ms, usage, rss, orders, events = [], [], [], [], [], []
    for rep in range(R):
        order = ["psql", "swan"] if rep % 2 == 0 else ["swan", "psql"]
        orders.append(order)
        if rep == R - 1:
            mark = pg.log_mark()
        for step in order:
            if step == "psql":
                base.append(psql_step())
            else:
                ms, job, events, r = swan_step()
                swan_ms.append(ms)
                usage.append(job.get("usage"))
                rss.append(r.summary())
        log(f"PG extract rep {rep + 1}/{R} ({' -> '.join(order)}): psql {base[-1]:.0f} ms, Swan {swan_ms[-1]:.0f} ms "
            f"({swan_ms[-1] / base[-1]:.2f}x)")
    durations = pg.durations_since(mark)
    profile = perf_profile(args, swan, "pgx", "pg_extract", workdir)
    table = swan.table("in.c-pg.t")
    doc["cases"]["pg_extract"] = ratio_case(f"PG extract {rows} rows (Swan / psql)", swan_ms, base, TARGETS["pg_extract"], {
        "rows": rows, "csv_bytes": out_csv.stat().st_size, "order": orders, "swan_usage": usage, "swan_rss": rss,
        "swan_columns": table["columns"], "swan_table_bytes": table.get("bytes"),
        "swan_events_last_rep": compact_events(events), "perf": profile,
        "pg_statement_durations_last_rep": durations,
        "baseline_what": f'psql -c "{copy}" (TCP, the whole process)',
        "swan_what": "keboola.ex-db-pgsql job, API submit -> success (COPY TO STDOUT, load, commit)"})


def ensure_swan_table(swan: Swan, pg: Postgres, rows: int, source: str, config_id: str, output: str):
    swan.save_config("keboola.ex-db-pgsql", config_id, {"parameters": {
        "db": pg.db_params(), "table": {"schema": "public", "tableName": source}, "outputTable": output}})
    try:
        if swan.table(output)["row_count"] == rows:
            return
    except common.BenchError:
        pass
    _, job, _ = swan.run_job(config_id)
    if job_outputs(job) != {output: rows}:
        raise common.BenchError(f"setup: extracting {source}", f"outputs {job_outputs(job)}")


def writer_config(pg: Postgres, table_id: str, target: str) -> dict:
    db = dict(pg.db_params(), schema="public")
    return {"storage": {"input": {"tables": [{"source": table_id, "destination": table_id + ".csv"}]}},
            "parameters": {"db": db, "tableId": table_id, "dbName": target, "incremental": False}}


def case_pg_write(args, swan: Swan, pg: Postgres, rows: int, workdir: Path, doc: dict):
    R = args.repeat
    ensure_swan_table(swan, pg, rows, "t", "pgx", "in.c-pg.t")
    swan.save_config("keboola.wr-db-pgsql", "pgw", writer_config(pg, "in.c-pg.t", "t_swan"))
    # The same data as the writer sends: the Swan table's CSV export.
    csv = workdir / "swan_t.csv"
    log("PG write: exporting in.c-pg.t as CSV for the psql baseline")
    with urllib.request.urlopen(urllib.request.Request(
            f"{swan.server.url}/v1/projects/{PROJECT}/tables/in.c-pg.t/export",
            headers={"Authorization": f"Bearer {swan.token}"}), timeout=3600) as r, open(csv, "wb") as f:
        shutil.copyfileobj(r, f, 8 << 20)
    common.warm_page_cache(csv)
    pg.sql("DROP TABLE IF EXISTS t_swan; DROP TABLE IF EXISTS t2")
    copy = f"\\copy t2 FROM '{csv}' CSV HEADER"

    def swan_step():
        if pg.sql("SELECT to_regclass('t_swan') IS NOT NULL") == "t":
            pg.sql("TRUNCATE t_swan")
        timed_sync()
        with RssSampler(swan.pid) as rss:
            ms, job, events = swan.run_job("pgw")
        got = int(pg.sql("SELECT count(*) FROM t_swan"))
        if got != rows:
            raise common.BenchError("Swan PostgreSQL writer job", f"t_swan holds {got} rows, expected {rows}")
        return ms, job, events, rss

    def psql_step():
        pg.sql("TRUNCATE t2")
        timed_sync()
        ms = pg.timed_psql(copy)
        got = int(pg.sql("SELECT count(*) FROM t2"))
        if got != rows:
            raise common.BenchError(f"psql -c {copy!r}", f"t2 holds {got} rows, expected {rows}")
        return ms

    log("PG write warm-up: Swan (creates t_swan), then psql into t2 (LIKE t_swan)")
    swan_step()
    pg.sql("CREATE TABLE t2 (LIKE t_swan)")
    psql_step()
    schema = pg.sql("SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) "
                    "FROM information_schema.columns WHERE table_name = 't_swan'")
    base, swan_ms, usage, rss, orders, events = [], [], [], [], [], []
    for rep in range(R):
        order = ["psql", "swan"] if rep % 2 == 0 else ["swan", "psql"]
        orders.append(order)
        if rep == R - 1:
            mark = pg.log_mark()
        for step in order:
            if step == "psql":
                base.append(psql_step())
            else:
                ms, job, events, r = swan_step()
                swan_ms.append(ms)
                usage.append(job.get("usage"))
                rss.append(r.summary())
        log(f"PG write rep {rep + 1}/{R} ({' -> '.join(order)}): psql {base[-1]:.0f} ms, Swan {swan_ms[-1]:.0f} ms "
            f"({swan_ms[-1] / base[-1]:.2f}x)")
    durations = pg.durations_since(mark)
    profile = perf_profile(args, swan, "pgw", "pg_write", workdir, prepare=lambda: pg.sql("TRUNCATE t_swan"))
    # Diagnostic, once: a full load replacing a target that holds the previous load's rows.
    timed_sync()
    replace_ms, _, replace_events = swan.run_job("pgw")
    log(f"PG write diagnostic: full load over a target holding {rows} rows: {replace_ms:.0f} ms")
    doc["cases"]["pg_write"] = ratio_case(f"PG write {rows} rows (Swan / psql)", swan_ms, base, TARGETS["pg_write"], {
        "rows": rows, "csv_bytes": csv.stat().st_size, "target_schema": schema, "order": orders,
        "swan_usage": usage, "swan_rss": rss, "swan_events_last_rep": compact_events(events),
        "pg_statement_durations_last_rep": durations,
        "replace_full_target_ms": round(replace_ms, 1), "perf": profile,
        "replace_full_target_events": compact_events(replace_events),
        "baseline_what": f'TRUNCATE t2 (untimed); psql -c "{copy}" (TCP, the whole process; t2 is LIKE t_swan)',
        "swan_what": "TRUNCATE t_swan (untimed); keboola.wr-db-pgsql job, full load, API submit -> success"})


def case_rss(binary: Path, workdir: Path, which: str, sizes: list, doc: dict):
    """Each size in a fresh server process: its idle RSS, then the job twice, sampled."""
    out = {}
    for label, size, config_id, make in sizes:
        data = workdir / f"swan-rss-{which}-{size}"
        swan = Swan(binary, data)
        swan.start()
        try:
            make(swan)
            swan.restart()  # a fresh process holding only what a server holds at start
            time.sleep(0.5)
            idle = vm_rss_kib(swan.pid)
            runs = []
            for _ in range(2):
                with RssSampler(swan.pid) as rss:
                    ms, job, _ = swan.run_job(config_id)
                runs.append(dict(rss.summary(), job_ms=round(ms, 1),
                                 job_peak_memory_bytes=job.get("usage", {}).get("peak_memory_bytes")))
            hwm = common.proc_status(swan.pid).get("VmHWM", 0)
            out[label] = {"size": size, "idle_mib": round(idle / 1024, 1), "runs": runs,
                          "vm_hwm_mib": round(hwm / 1024, 1)}
            log(f"RSS {which} {label} ({size}): idle {idle / 1024:.0f} MiB; "
                + "; ".join(f"run {i + 1}: before {r['baseline_mib']:.0f}, max {r['max_mib']:.0f} MiB"
                            for i, r in enumerate(runs)) + f"; VmHWM {hwm / 1024:.0f} MiB")
        finally:
            swan.stop()
            shutil.rmtree(data, ignore_errors=True)
    small, big = out[sizes[0][0]], out[sizes[1][0]]
    out["max_ratio_big_over_small"] = round(max(r["max_mib"] for r in big["runs"]) /
                                            max(r["max_mib"] for r in small["runs"]), 3)
    out["growth_over_idle_mib"] = {
        "small": round(max(r["max_mib"] for r in small["runs"]) - small["idle_mib"], 1),
        "full": round(max(r["max_mib"] for r in big["runs"]) - big["idle_mib"], 1)}
    doc["cases"].setdefault("rss", {})[which] = out


# --------------------------------------------------------------------------------------------


def snapshot_swan(build: Path, dest: Path) -> Path:
    dest.mkdir(parents=True)
    for attempt in range(30):
        try:
            shutil.copy2(build / "swan", dest / "swan")
            subprocess.run([str(dest / "swan"), "--version"], capture_output=True, check=True, timeout=60)
            return dest / "swan"
        except (OSError, subprocess.SubprocessError):
            log(f"{build / 'swan'} looks mid-rebuild; retrying the copy in 10 s")
            time.sleep(10)
    raise common.BenchError(f"cannot copy a working swan from {build}", "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000, help="rows of the PostgreSQL table (default 5M)")
    parser.add_argument("--repeat", type=int, help="timed repetitions per case (default 5; --quick: 2)")
    parser.add_argument("--quick", action="store_true", help="200k rows, 2 repetitions")
    parser.add_argument("--items", type=int, default=100_000, help="REST items (default 100,000)")
    parser.add_argument("--page", type=int, default=1000, help="REST page size (default 1,000)")
    parser.add_argument("--no-dlt", action="store_true", help="skip dlt in the REST case")
    parser.add_argument("--no-rss", action="store_true", help="skip the RSS-by-size case")
    parser.add_argument("--only", choices=["rest", "pg-extract", "pg-write"], help="one case (and its RSS)")
    parser.add_argument("--perf", action="store_true",
                        help="after each case's timed runs, one more Swan run under `perf record -a` (profile in the JSON)")
    parser.add_argument("--build", type=Path, default=ROOT / "build", help="where swan is (default build/)")
    parser.add_argument("--keep", action="store_true", help="keep the run folder bench/data/conn-*")
    args = parser.parse_args()
    if args.quick:
        args.rows = 200_000
    if args.repeat is None:
        args.repeat = 2 if args.quick else 5
    if args.rows < 1000 or args.repeat < 1 or args.items < 10 * args.page:
        parser.error("--rows >= 1000, --repeat >= 1, --items >= 10 pages")
    want = {"rest", "pg-extract", "pg-write"} if not args.only else {args.only}

    missing = [t for t in ("curl",) if "rest" in want and not shutil.which(t)]
    if want & {"pg-extract", "pg-write"} and not (PG_BIN / "initdb").exists():
        missing.append(f"{PG_BIN} (postgresql-15)")
    if "rest" in want and not (shutil.which("node") and shutil.which("npm")):
        missing.append("node/npm")
    if not (args.build / "swan").exists():
        missing.append(f"{args.build / 'swan'} (build first: ninja -C build swan)")
    if missing:
        print("missing: " + ", ".join(missing), file=sys.stderr)
        return 2

    DATA.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="conn-", dir=DATA))
    started = time.time()
    doc = {"benchmark": "swan bench/connectors.py",
           "started_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "git": common.git_facts(), "machine": common.machine_facts(),
           "rows": args.rows, "items": args.items, "page": args.page, "repeat": args.repeat,
           "quick": args.quick, "only": args.only, "load_at_start": load_facts(servers=True),
           "peers": {"curl": subprocess.run(["curl", "--version"], capture_output=True, text=True)
                     .stdout.split("\n")[0]},
           "postgres_settings": Postgres.SETTINGS, "cases": {}}
    if doc["load_at_start"]["loadavg"][0] > 0.5 or doc["load_at_start"]["busy_processes"]:
        log(f"warning: the machine is busy ({doc['load_at_start']}): timings will be noisy")
    failed, code = [], 0
    pg, js, swan = None, None, None
    monitor = Interference()
    # Under `nohup ... &` SIGINT arrives ignored; SIGTERM too should stop the servers cleanly.
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
        swan = Swan(binary, workdir / "swan-data")
        swan.start()
        doc["server_rss_idle_mib"] = round(vm_rss_kib(swan.pid) / 1024, 1)

        if "rest" in want:
            cli = ensure_json_server()
            doc["peers"]["json_server"] = JSON_SERVER_VERSION
            doc["peers"]["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
            log(f"REST: generating {args.items} items (and {args.items // 10} for the RSS case)")
            items, tags = make_items(args.items)
            small_n = args.items // 10
            small_tags = sum(2 + ((i * 2654435761) % (1 << 32)) % 3 for i in range(1, small_n + 1))
            db = workdir / "db.json"
            db.write_text(json.dumps({"items": items, "small": items[:small_n]}))
            del items
            js = JsonServer(cli, db, workdir)
            js.start()
            doc["load_before_rest"] = load_facts()
            with Window(monitor, doc, "rest"):
                case_rest(args, swan, js, args.items, tags, workdir, doc)
            if not doc["cases"]["rest"]["met"]:
                failed.append("rest")
            if not args.no_rss:
                def rest_make(endpoint):
                    return lambda s: s.save_config("keboola.ex-generic-v2", "rest",
                                                   rest_config(js.port, endpoint, "rest", args.page))
                with Window(monitor, doc, "rss_rest"):
                    case_rss(binary, workdir, "rest", [
                        ("small", small_n, "rest", rest_make("small")),
                        ("full", args.items, "rest", rest_make("items"))], doc)
                doc["cases"]["rss"]["rest"]["tags"] = {"small": small_tags, "full": tags}

        if want & {"pg-extract", "pg-write"}:
            pg = Postgres()
            pg.start()
            monitor.add_root(pg.postmaster_pid)
            doc["peers"]["postgres"] = pg.sql("SELECT version()")
            small_rows = args.rows // 10
            log(f"PG: generating t ({args.rows} rows x 10 columns) and t_small ({small_rows} rows)")
            t0 = time.perf_counter()
            for name, n in (("t", args.rows), ("t_small", small_rows)):
                pg.sql(PG_TABLE_SQL.format(name=name, rows=n))
                pg.sql(f"VACUUM (FREEZE, ANALYZE) {name}")  # hint bits set: no reader pays them
            doc["pg_generate_ms"] = round((time.perf_counter() - t0) * 1000)
            doc["pg_table_bytes"] = int(pg.sql("SELECT pg_total_relation_size('t')"))
            log(f"PG: tables generated in {doc['pg_generate_ms'] / 1000:.1f} s "
                f"(t: {doc['pg_table_bytes'] / 1e6:.0f} MB)")

            if "pg-extract" in want:
                doc["load_before_pg_extract"] = load_facts()
                with Window(monitor, doc, "pg_extract"):
                    case_pg_extract(args, swan, pg, args.rows, workdir, doc)
                if not doc["cases"]["pg_extract"]["met"]:
                    failed.append("pg_extract")
                if not args.no_rss:
                    def pgx_make(source, rows_):
                        return lambda s: s.save_config("keboola.ex-db-pgsql", "pgx", {"parameters": {
                            "db": pg.db_params(), "table": {"schema": "public", "tableName": source},
                            "outputTable": "in.c-pg.t"}})
                    with Window(monitor, doc, "rss_pg_extract"):
                        case_rss(binary, workdir, "pg_extract", [
                            ("small", small_rows, "pgx", pgx_make("t_small", small_rows)),
                            ("full", args.rows, "pgx", pgx_make("t", args.rows))], doc)
            if "pg-write" in want:
                doc["load_before_pg_write"] = load_facts()
                with Window(monitor, doc, "pg_write"):
                    case_pg_write(args, swan, pg, args.rows, workdir, doc)
                if not doc["cases"]["pg_write"]["met"]:
                    failed.append("pg_write")
                if not args.no_rss:
                    def pgw_make(source, rows_, target):
                        def make(s):
                            ensure_swan_table(s, pg, rows_, source, "setup", "in.c-pg.src")
                            s.save_config("keboola.wr-db-pgsql", "pgw", writer_config(pg, "in.c-pg.src", target))
                        return make
                    with Window(monitor, doc, "rss_pg_write"):
                        case_rss(binary, workdir, "pg_write", [
                            ("small", small_rows, "pgw", pgw_make("t_small", small_rows, "t_rss_small")),
                            ("full", args.rows, "pgw", pgw_make("t", args.rows, "t_rss_full"))], doc)
        doc["server_vm_hwm_mib_at_end"] = round(common.proc_status(swan.pid)["VmHWM"] / 1024, 1)
    except common.BenchError as e:
        print("\nCONNECTORS BENCHMARK FAILED", file=sys.stderr)
        print(f"  operation: {e.what}", file=sys.stderr)
        print(f"  error:     {e.error}", file=sys.stderr)
        doc["error"] = {"operation": e.what, "error": e.error}
        code = 2
    except KeyboardInterrupt:
        log("interrupted: stopping the servers")
        doc["error"] = {"operation": "interrupted", "error": "SIGINT or SIGTERM"}
        code = 130
    finally:
        monitor.stop()
        for thing in (js, swan, pg):
            if thing is not None:
                try:
                    thing.stop()
                except Exception as e:  # noqa: BLE001 (cleanup goes on)
                    log(f"cleanup: {e}")
        doc["load_at_end"] = load_facts()
        doc["elapsed_s"] = round(time.time() - started, 1)
        doc["failed"] = failed
        out = BENCH / "results" / ("connectors-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + ".json")
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(doc, indent=1) + "\n")
        log(f"results: {out.relative_to(ROOT)}")
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_summary(doc)
    if code:
        return code
    if failed:
        log("targets missed: " + ", ".join(failed))
        return 1
    log("all targets met")
    return 0


def print_summary(doc):
    c = doc["cases"]
    print()
    print(f"Swan connectors benchmark: {doc['rows']} PG rows, {doc['items']} REST items, {doc['repeat']} "
          f"repetitions, commit {doc['git']['commit']}, load at start {doc['load_at_start']['loadavg']}")
    for key, label in (("rest", "REST, Swan / curl"), ("pg_extract", "PG extract, Swan / psql \\copy TO"),
                       ("pg_write", "PG write, Swan / psql \\copy FROM")):
        if key not in c:
            continue
        r = c[key]
        print(f"  {label:36s} ratios {' '.join(f'{x:.2f}' for x in r['ratios'])}  median {r['ratio']['median']:.2f} "
              f"(min {r['ratio']['min']:.2f}, max {r['ratio']['max']:.2f})  target <= {r['target_max_ratio']}: "
              f"{'met' if r['met'] else 'MISSED'}")
        if key == "rest" and "ratios_run_vs_curl" in r.get("dlt", {}):
            d = r["dlt"]
            print(f"  {'REST, dlt / curl':36s} ratios {' '.join(f'{x:.2f}' for x in d['ratios_run_vs_curl'])}  "
                  f"median {d['ratio_run_vs_curl']['median']:.2f} (whole process "
                  f"{d['ratio_process_vs_curl']['median']:.2f})")
    other = doc.get("interference", {})
    if other:
        print("  other processes' CPU-seconds during each part (0 on an idle machine): " +
              ", ".join(f"{k} {v['cpu_s']}" + (f" ({', '.join(f'{n} {t}' for n, t in list(v['top'].items())[:3])})"
                                               if v["cpu_s"] > 2 else "") for k, v in other.items()))
    for which, r in c.get("rss", {}).items():
        parts = []
        for label in ("small", "full"):
            s = r[label]
            parts.append(f"{label} {s['size']}: idle {s['idle_mib']:.0f} MiB, max "
                         f"{max(x['max_mib'] for x in s['runs']):.0f} MiB")
        print(f"  RSS {which:10s} " + "; ".join(parts))


if __name__ == "__main__":
    sys.exit(main())
