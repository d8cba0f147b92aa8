#!/usr/bin/env bash
# Makes sure the real apps of the apps suite (e2e/apps) are installed, as users run them:
#   - R Shiny from Debian (r-cran-shiny, and r-cran-curl for the example's on-behalf-of call):
#     apt-get as root when missing, else a message naming the packages;
#   - Streamlit from PyPI in a virtual environment at .cache/streamlit/venv, Streamlit and every
#     dependency pinned by hash (e2e/apps/requirements.txt, installed with --require-hashes).
# Reuses what is there; prints the versions. The suite finds R on $PATH and Streamlit at
# .cache/streamlit/venv/bin/streamlit (or $STREAMLIT_BIN).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.cache/streamlit"
req="$root/e2e/apps/requirements.txt"
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9 # parallel test packages may call this at once

# R Shiny (Debian).
have_r_pkgs() {
  command -v Rscript >/dev/null &&
    Rscript -e 'for (p in c("shiny", "curl")) if (!requireNamespace(p, quietly = TRUE)) quit(status = 1)' >/dev/null 2>&1
}
if ! have_r_pkgs; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "ensure-apps: installing R Shiny (apt-get install r-cran-shiny r-cran-curl)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    # Debian's r-cran-* packages depend on what R imports; the recommends are hundreds more.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends r-cran-shiny r-cran-curl >/dev/null
  fi
  have_r_pkgs || {
    echo "ensure-apps: R Shiny is missing: install the Debian packages r-cran-shiny and r-cran-curl (apt-get install r-cran-shiny r-cran-curl)" >&2
    exit 1
  }
fi

# Streamlit (PyPI, pinned by hash).
stamp="$dir/installed.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x "$dir/venv/bin/streamlit" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  command -v python3 >/dev/null || { echo "ensure-apps: python3 is missing: install the Debian packages python3 python3-venv" >&2; exit 1; }
  if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "ensure-apps: installing python3-venv (apt-get)..." >&2
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    else
      echo "ensure-apps: Python's venv module is missing: install the Debian package python3-venv" >&2; exit 1
    fi
  fi
  echo "ensure-apps: installing Streamlit into $dir/venv (pip, pinned by hash)..." >&2
  rm -rf "$dir/venv" "$stamp"
  python3 -m venv "$dir/venv"
  if ! "$dir/venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --require-hashes -r "$req" >&2; then
    echo "ensure-apps: pip could not install Streamlit from $req (is PyPI reachable?)" >&2; exit 1
  fi
  echo "$want" > "$stamp"
fi

shiny="$(Rscript -e 'cat(as.character(packageVersion("shiny")))' 2>/dev/null)"
rv="$(Rscript -e 'cat(paste(R.version$major, R.version$minor, sep = "."))' 2>/dev/null)"
st="$("$dir/venv/bin/python" -c 'import streamlit; print(streamlit.__version__)' 2>/dev/null)" ||
  { echo "ensure-apps: $dir/venv has no working Streamlit" >&2; exit 1; }
echo "apps: R $rv with Shiny $shiny; Streamlit $st at $dir/venv" >&2
