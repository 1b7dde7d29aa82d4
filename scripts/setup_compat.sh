#!/usr/bin/env bash
# Installs Keboola's Python library `keboola.component` (PyPI, pinned in
# tests/components/keboola_compat/requirements.txt) into third_party/keboola-component/lib, which
# git ignores, for tests/component_compat_test.cpp. Uses Debian's /usr/bin/python3 and its pip
# (the sandbox runs components with that interpreter). Idempotent: when the installed set matches
# the requirements file, nothing is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUIREMENTS=tests/components/keboola_compat/requirements.txt
DEST=third_party/keboola-component
STAMP="$DEST/requirements.sha256"
want=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -d "$DEST/lib/keboola/component" ]; then
  echo "setup_compat: ok (keboola.component already in $DEST/lib)"
  exit 0
fi

if ! /usr/bin/python3 -m pip --version >/dev/null 2>&1; then
  echo "setup_compat: /usr/bin/python3 has no pip: install python3-pip (scripts/setup.sh)" >&2
  exit 1
fi
echo "setup_compat: installing keboola.component into $DEST/lib"
mkdir -p "$DEST"
tmp=$(mktemp -d "$DEST/lib.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
# --target: a plain folder the component puts on sys.path (no venv, no system site-packages touched).
/usr/bin/python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
  --root-user-action=ignore --target "$tmp" -r "$REQUIREMENTS"
rm -rf "$DEST/lib"
mv "$tmp" "$DEST/lib"
echo "$want" >"$STAMP"
echo "setup_compat: ok"
