# Tries to get out of Swan's component sandbox, and records every attempt.
#
# Run by tests/component_isolation_test.cpp as a Python transformation
# (parameters.blocks[].codes[].script[]) and as main.py of a registry component with small limits.
# Its settings are parameters.isolation of /data/config.json (host paths, the server's pid, ports,
# limits). It writes two output tables:
#   out/tables/attempts.csv  attempt, escaped, error   (every attempt must show escaped = false)
#   out/tables/checks.csv    check, ok, detail         (the sandbox works at all: every ok = true)
# An attempt counts as blocked only when the operating system refuses it (OSError, MemoryError) or
# the script saw it fail another way (Blocked: a kill by the kernel, nothing found, an HTTP 401);
# any other exception is a fault of this script and counts as escaped, so a broken script cannot
# pass.
import csv
import ctypes
import json
import os
import signal
import socket
import sys
import time
import urllib.error
import urllib.request

with open("/data/config.json", encoding="utf-8") as f:
    P = json.load(f)["parameters"]["isolation"]

attempts = []  # [attempt, escaped, error]
checks = []  # [check, ok, detail]


class Blocked(Exception):
    """The attempt failed without an OSError: what was seen instead."""


def attempt(name, fn):
    """fn() tries the escape: it returns a description when it got through, or raises."""
    try:
        detail = fn()
    except Blocked as e:
        attempts.append([name, "false", str(e)])
    except (OSError, MemoryError) as e:
        attempts.append([name, "false", f"{type(e).__name__}: {e}"])
    except Exception as e:  # noqa: BLE001 - a bug of this script must not look like a block
        attempts.append([name, "true", f"script fault {type(e).__name__}: {e}"])
    else:
        attempts.append([name, "true", str(detail)])


def check(name, fn):
    try:
        ok, detail = fn()
    except Exception as e:  # noqa: BLE001
        ok, detail = False, f"{type(e).__name__}: {e}"
    checks.append([name, "true" if ok else "false", str(detail)])


def read_file(path):
    with open(path, "rb") as f:
        return f"read {len(f.read(4096))} bytes of {path}"


def list_dir(path):
    return f"listed {path}: {sorted(os.listdir(path))[:10]}"


def write_file(directory):
    path = os.path.join(directory, P["escape_file"])
    with open(path, "w") as f:
        f.write("escaped\n")
    return f"wrote {path}"


libc = ctypes.CDLL(None, use_errno=True)


def libc_call(what, result):
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return f"{what} returned {result}"


# --- The sandbox works at all: its own input, /tmp, and the network extractors need. -----------
def read_input():
    with open("/data/in/tables/probe.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    values = sorted(r["value"] for r in rows)
    return values == sorted(P["input_values"]), f"in/tables/probe.csv values {values}"


def write_tmp():
    with open("/tmp/own-scratch", "w") as f:
        f.write("scratch")
    with open("/tmp/own-scratch") as f:
        return f.read() == "scratch", "wrote and read /tmp/own-scratch"


def loopback():
    with socket.create_connection(("127.0.0.1", P["loopback_port"]), timeout=10) as s:
        s.settimeout(10)
        greeting = s.recv(100).decode()
    return greeting.strip() == "swan-loopback-ok", f"the test's listener said {greeting!r}"


check("read_own_input", read_input)
check("write_own_tmp", write_tmp)
check("loopback_network", loopback)

# --- Files of the server and of other tenants (absolute host paths). -----------------------------
for label, path in sorted(P.get("read_files", {}).items()):
    attempt(f"read {label}", lambda path=path: read_file(path))
for label, path in sorted(P.get("list_dirs", {}).items()):
    attempt(f"list {label}", lambda path=path: list_dir(path))
for label, path in sorted(P.get("write_dirs", {}).items()):
    attempt(f"write into {label}", lambda path=path: write_file(path))

# --- The server's process and environment. ------------------------------------------------------
if "server_pid" in P:
    pid = P["server_pid"]
    attempt("signal the server (kill 0)", lambda: os.kill(pid, 0) or f"kill({pid}, 0) succeeded")
    attempt("ptrace attach to the server", lambda: libc_call("ptrace", libc.ptrace(16, pid, 0, 0)))
    attempt("see the server in /proc", lambda: list_dir(f"/proc/{pid}"))

    def find_server():
        seen = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/cmdline", "rb") as f:
                        seen.append(f.read().replace(b"\0", b" ").decode(errors="replace"))
                except OSError:
                    pass
        found = [c for c in seen if "swan" in c and " server" in c]
        if found:
            return f"server process visible: {found}"
        raise Blocked(f"no server among the {len(seen)} visible processes")

    attempt("find the server among processes", find_server)

if "env_markers" in P:
    def server_environment():
        leaked = [k for k in os.environ if k in P["env_markers"] or k.startswith("SWAN_")]
        if leaked:
            return f"server variables visible: {leaked}"
        raise Blocked(f"none of {P['env_markers']} in {sorted(os.environ)}")

    attempt("see the server's environment", server_environment)

if "api_url" in P:
    def api_without_token():
        try:
            with urllib.request.urlopen(P["api_url"] + "/v1/projects", timeout=10) as r:
                return f"HTTP {r.status}: {r.read(200)!r}"
        except urllib.error.HTTPError as e:
            raise Blocked(f"HTTP {e.code}") from None

    attempt("call Swan's API without a token", api_without_token)

# --- Privileges the sandbox must not have. -------------------------------------------------------
if P.get("privileges", False):
    attempt("read /etc/shadow", lambda: read_file("/etc/shadow"))
    attempt("list /root", lambda: list_dir("/root"))
    attempt("open /proc/sysrq-trigger for writing", lambda: open("/proc/sysrq-trigger", "w").close())
    attempt("create a user namespace", lambda: libc_call("unshare", libc.unshare(0x10000000)))
    attempt("mount a tmpfs", lambda: libc_call("mount", libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)))
    attempt("setuid(0)", lambda: os.setuid(0) or "setuid(0) succeeded")

# --- Limits. --------------------------------------------------------------------------------------
if "memory_bytes" in P:
    def allocate():
        block = bytearray(P["memory_bytes"])
        return f"allocated {len(block)} bytes"

    attempt("allocate past the memory limit", allocate)

if "file_bytes" in P:
    def big_file():
        chunk = b"x" * 65536
        written = 0
        try:
            with open("/tmp/big-output", "wb", buffering=0) as f:
                while written <= 2 * P["file_bytes"]:
                    written += f.write(chunk)
        finally:
            if os.path.exists("/tmp/big-output"):
                os.unlink("/tmp/big-output")
        return f"wrote {written} bytes, past the limit of {P['file_bytes']}"

    attempt("write a file past the output limit", big_file)

if "cpu_seconds" in P:
    def burn_cpu():
        child = os.fork()
        if child == 0:
            while True:
                pass
        deadline = time.monotonic() + 10 * P["cpu_seconds"] + 5
        while time.monotonic() < deadline:
            done, status = os.waitpid(child, os.WNOHANG)
            if done:
                if os.WIFSIGNALED(status):
                    usage = os.times()
                    raise Blocked(f"killed by signal {os.WTERMSIG(status)} after "
                                     f"{usage.children_user + usage.children_system:.1f} s of CPU")
                return f"the spinning child exited with {status}"
            time.sleep(0.05)
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        return f"still spinning after {10 * P['cpu_seconds'] + 5} s"

    attempt("spin past the CPU limit", burn_cpu)

if "processes" in P:
    # Bounded on purpose: at most 4x the limit, all waiting on a pipe and ended right after.
    def fork_many():
        r, w = os.pipe()
        children = []
        error = ""
        try:
            for _ in range(4 * P["processes"]):
                child = os.fork()
                if child == 0:
                    os.close(w)
                    os.read(r, 1)
                    os._exit(0)
                children.append(child)
        except OSError as e:
            error = str(e)
        finally:
            os.close(w)
            for child in children:
                os.waitpid(child, 0)
        if len(children) > P["processes"]:
            return f"{len(children)} processes running at once, limit {P['processes']}"
        raise Blocked(f"fork refused after {len(children)} processes: {error}")

    attempt("fork past the process limit", fork_many)

os.makedirs("/data/out/tables", exist_ok=True)
for name, header, rows in (("attempts", ["attempt", "escaped", "error"], attempts),
                           ("checks", ["check", "ok", "detail"], checks)):
    with open(f"/data/out/tables/{name}.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
print(f"{len(attempts)} attempts, {len(checks)} checks", flush=True)
sys.exit(0)
