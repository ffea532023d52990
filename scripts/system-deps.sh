#!/usr/bin/env bash
# Debian libraries Herald needs beyond Python wheels: Pango/HarfBuzz and a font for WeasyPrint
# (PDF letters). Installs only what is missing, and only when it can (root with apt-get).
set -euo pipefail

packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)
# `system-deps.sh bench` adds what only the benchmarks need: wrk drives the HTTP workloads.
[[ ${1:-} == bench ]] && packages+=(wrk)
# `system-deps.sh dev` adds what the tests need: Debian's Chromium, which Playwright drives.
[[ ${1:-} == dev ]] && packages+=(chromium)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
((${#missing[@]} == 0)) && exit 0

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "Installing system libraries: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "Herald needs these Debian packages: ${missing[*]} (run: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
