#!/usr/bin/env bash
# Makes sure an etcd server for the replica suite (e2e/replicas) is installed: the Debian
# package etcd-server, pinned, installed with apt-get when run as root; else a clear message.
# ETCD=/path/to/etcd uses another etcd v3 server (v3.4 or later: the suite speaks its JSON
# gateway, /v3/kv and /v3/lease).
set -euo pipefail
pkg="etcd-server"
version="3.4.23-4+b4"
for c in "${ETCD:-}" /usr/bin/etcd; do
  [ -n "$c" ] && [ -x "$c" ] && exit 0
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing etcd for the replica suite (apt-get install $pkg=$version)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-cache show "$pkg=$version" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
  fi
  apt-get install -y -qq --no-install-recommends "$pkg=$version" >/dev/null
  if [ -x /usr/bin/etcd ]; then exit 0; fi
  echo "apt-get installed $pkg but /usr/bin/etcd is not there." >&2
  exit 1
fi
echo "etcd is missing: install the Debian package '$pkg' (apt-get install $pkg=$version) or set ETCD=/path/to/etcd." >&2
exit 1
