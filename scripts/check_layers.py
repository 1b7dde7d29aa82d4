#!/usr/bin/env python3
"""Fails when a source file includes a header of a subsystem above its own layer.

Swan's subsystems are the folders of src/, layered (docs/architecture.md, "Layers"):

    cli > demo > api > service > orchestration > jobs > storage, query > catalog, engine > common;
    jobs > connectors > common;  client > common

A file of src/X may include headers of X and of the subsystems X is allowed to depend on
(ALLOWED below, the transitive closure of CMakeLists.txt's links). DuckDB's header may be
included by src/engine only. Usage: check_layers.py SRC_DIR, or --self-test.
"""
import os
import re
import sys
import tempfile

DIRECT = {
    "common": [],
    "engine": ["common"],
    "catalog": ["common"],
    "client": ["common"],
    "storage": ["catalog", "engine"],
    "query": ["engine"],
    "connectors": ["common"],
    "jobs": ["storage", "query", "connectors"],
    "orchestration": ["jobs"],
    "service": ["orchestration", "jobs", "storage", "query"],
    "api": ["service"],
    "demo": ["api", "client"],
    "cli": ["demo", "api", "client"],
}


def closure(name, seen=None):
    seen = set() if seen is None else seen
    for dep in DIRECT[name]:
        if dep not in seen:
            seen.add(dep)
            closure(dep, seen)
    return seen


ALLOWED = {name: closure(name) for name in DIRECT}
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]')


def check(src):
    problems = []
    for sub in sorted(os.listdir(src)):
        folder = os.path.join(src, sub)
        if not os.path.isdir(folder):
            continue
        if sub not in DIRECT:
            problems.append(f"{folder}: subsystem not in the layer map (scripts/check_layers.py)")
            continue
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8", errors="replace") as f:
                for number, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    header = m.group(1)
                    if header == "duckdb.h" and sub != "engine":
                        problems.append(f"{path}:{number}: duckdb.h outside src/engine")
                        continue
                    target = header.split("/", 1)[0] if "/" in header else None
                    if target not in DIRECT or target == sub:
                        continue
                    if target not in ALLOWED[sub]:
                        problems.append(
                            f"{path}:{number}: {sub} includes {header}: {target} is not below "
                            f"{sub} (allowed: {', '.join(sorted(ALLOWED[sub])) or 'none'})")
    return problems


def self_test():
    with tempfile.TemporaryDirectory() as d:
        for sub, text in {
            "common": '#include "common/status.h"\n',
            "storage": '#include "catalog/catalog.h"\n#include "api/router.h"\n',
            "query": "#include <duckdb.h>\n",
        }.items():
            os.makedirs(os.path.join(d, sub))
            with open(os.path.join(d, sub, "x.cpp"), "w") as f:
                f.write(text)
        problems = check(d)
        ok = (len(problems) == 2 and any("storage includes api/router.h" in p for p in problems)
              and any("duckdb.h outside" in p for p in problems))
        print("\n".join(problems))
        print("self-test:", "ok" if ok else "FAILED (the check did not catch both)")
        return 0 if ok else 1


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    problems = check(sys.argv[1])
    for p in problems:
        print(p)
    print(f"layers: {'ok' if not problems else str(len(problems)) + ' violation(s)'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
