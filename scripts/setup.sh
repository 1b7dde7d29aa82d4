#!/usr/bin/env bash
# Installs everything Swan needs on Debian 12: apt packages and DuckDB 1.4.4 (from npm, cached in
# third_party/duckdb, which git ignores). Idempotent: a second run downloads nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(cmake ninja-build g++ pkg-config git ca-certificates curl python3
  libsqlite3-dev libpq-dev libcpp-httplib-dev libcurl4-openssl-dev nlohmann-json3-dev
  libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev libsodium-dev libssl-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev clang-format bubblewrap python3-pip postgresql-15
  libmariadb-dev mariadb-server tzdata libsimdjson-dev)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from another source than Debian (it brings npm itself): install Debian's only when absent.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

DUCK=third_party/duckdb
if [ ! -f "$DUCK/lib/libduckdb.so" ] || [ ! -f "$DUCK/include/duckdb.h" ]; then
  echo "setup: fetching DuckDB 1.4.4 from npm"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent @duckdb/node-bindings-linux-x64@1.4.4-r.4 duckdb@1.4.4 >/dev/null)
  mkdir -p "$tmp/lib" "$tmp/hdr" "$DUCK/lib" "$DUCK/include"
  tar -xzf "$tmp"/duckdb-node-bindings-linux-x64-1.4.4-r.4.tgz -C "$tmp/lib"
  tar -xzf "$tmp"/duckdb-1.4.4.tgz -C "$tmp/hdr" package/src/duckdb/src/include/duckdb.h
  cp "$(find "$tmp/lib" -name libduckdb.so | head -n1)" "$DUCK/lib/libduckdb.so"
  cp "$tmp/hdr/package/src/duckdb/src/include/duckdb.h" "$DUCK/include/duckdb.h"
fi
echo "setup: ok"
