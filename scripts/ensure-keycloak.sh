#!/usr/bin/env bash
# Makes sure the Keycloak server distribution is unpacked in the project: Maven fetches
# org.keycloak:keycloak-quarkus-dist (version pinned below, checksums strict) into
# .cache/keycloak, the zip's SHA-256 is checked against the pinned value, and it is unpacked
# once into .cache/keycloak/keycloak-VERSION. Prints Keycloak's version and home. The tests find
# it there (or at $KEYCLOAK_HOME). Nothing is installed outside the project except, as root,
# the Debian package maven when mvn is missing. Keycloak needs Java 21+: $KEYCLOAK_JAVA_HOME,
# else /usr/lib/jvm/temurin-25-jdk-amd64.
set -euo pipefail
version=26.7.3
# SHA-256 of keycloak-quarkus-dist-$version.zip (Maven Central also checks its .sha1: mvn -C).
want_sha256=27a6535553c3cdcd083872ba40629efafb3475e3b758e0c6f691395561dd0f1f
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.cache/keycloak"
home="$dir/keycloak-$version"
java_home="${KEYCLOAK_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9 # parallel test packages may call this at once

if [ ! -x "$java_home/bin/java" ]; then
  echo "ensure-keycloak: Java 21+ is missing at $java_home (Keycloak $version needs it; the default java may be older): install a Java 25 JDK there or set KEYCLOAK_JAVA_HOME" >&2; exit 1
fi
if [ ! -x "$home/bin/kc.sh" ] || [ "$(cat "$home/.unpacked" 2>/dev/null)" != "$want_sha256" ]; then
  zip="$dir/keycloak-quarkus-dist-$version.zip"
  if [ ! -f "$zip" ] || [ "$(sha256sum "$zip" | cut -d' ' -f1)" != "$want_sha256" ]; then
    if ! command -v mvn >/dev/null; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "ensure-keycloak: installing maven (apt-get)..." >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven >/dev/null
      else
        echo "ensure-keycloak: mvn is missing: install the Debian package maven" >&2; exit 1
      fi
    fi
    echo "ensure-keycloak: fetching org.keycloak:keycloak-quarkus-dist:$version:zip (mvn)..." >&2
    rm -f "$zip"
    if ! mvn -B -q -C dependency:copy -Dartifact="org.keycloak:keycloak-quarkus-dist:$version:zip" \
      -DoutputDirectory="$dir" -Dmdep.overWriteReleases=true >&2; then
      echo "ensure-keycloak: mvn could not fetch keycloak-quarkus-dist $version (is Maven Central reachable?)" >&2; exit 1
    fi
    got="$(sha256sum "$zip" | cut -d' ' -f1)"
    if [ "$got" != "$want_sha256" ]; then
      echo "ensure-keycloak: $zip has SHA-256 $got, want $want_sha256: refusing to unpack it" >&2
      rm -f "$zip"; exit 1
    fi
  fi
  echo "ensure-keycloak: unpacking into $home..." >&2
  rm -rf "$home" "$dir/.unpack"
  mkdir -p "$dir/.unpack"
  if command -v unzip >/dev/null; then unzip -q "$zip" -d "$dir/.unpack"
  else (cd "$dir/.unpack" && "$java_home/bin/jar" xf "$zip" && chmod +x keycloak-*/bin/*.sh)
  fi
  mv "$dir/.unpack/keycloak-$version" "$home"
  rmdir "$dir/.unpack"
  echo "$want_sha256" > "$home/.unpacked"
fi
echo "keycloak: Keycloak $version at $home" >&2
