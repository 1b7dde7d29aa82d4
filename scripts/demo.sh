#!/usr/bin/env bash
# Newcomer path, step 1: install what is needed, build, and run the demo pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release
exec ./build/swan demo "$@"
