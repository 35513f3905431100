#!/usr/bin/env bash
# Installs the Debian packages the tests start their own servers from: Mosquitto, NATS,
# PostgreSQL with PostGIS; Chromium for the dashboard's browser test; Node.js/npm if missing.
# Installs only what is missing; never starts or changes services.
set -euo pipefail
want=(mosquitto mosquitto-clients nats-server postgresql postgresql-contrib chromium)
# The dashboard's map library comes from npm; a machine may have Node.js from elsewhere.
command -v npm >/dev/null || want+=(nodejs npm)
pg_major=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1 || true)
[[ -n $pg_major ]] && want+=("postgresql-${pg_major}-postgis-3")
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "installing Debian packages: ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# Installing a server package must not start it (the machine may already run one).
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy >/dev/null && $sudo chmod +x $policy
  trap '$sudo rm -f $policy' EXIT
fi
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
# PostGIS is named after the server's major version, which may only be known now.
pg_major=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1 || true)
if [[ -n $pg_major ]] && ! dpkg-query -W -f='${Status}' "postgresql-${pg_major}-postgis-3" 2>/dev/null | grep -q "install ok installed"; then
  $sudo apt-get install -y -qq --no-install-recommends "postgresql-${pg_major}-postgis-3"
fi
