#!/usr/bin/env bash
# Newcomer path, step 2 (and CI): install, build, run every test through ctest; then the same
# suite under AddressSanitizer + UndefinedBehaviorSanitizer. SWAN_SKIP_ASAN=1 skips the latter.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup_compat.sh
# Formatting is part of the build: any difference fails (fix with clang-format -i).
git ls-files '*.cpp' '*.h' | xargs clang-format --dry-run --Werror
echo "clang-format: ok"
bash scripts/build.sh release
(cd build && ctest --output-on-failure -j2 --timeout 900)
if [ "${SWAN_SKIP_ASAN:-0}" != "1" ]; then
  bash scripts/build.sh asan
  (cd build-asan && ctest --output-on-failure -j2 --timeout 900)
fi
