#!/usr/bin/env bash
# Makes sure a Chromium for the browser tests is installed: apt-get as root, else a clear message.
set -euo pipefail
for c in "${CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  [ -n "$c" ] && [ -x "$c" ] && exit 0
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing chromium for the browser tests (apt-get install chromium)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "Chromium is missing: install the Debian package 'chromium' (apt-get install chromium) or set CHROMIUM=/path/to/chromium." >&2
exit 1
