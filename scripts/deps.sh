#!/usr/bin/env bash
# deps.sh PACKAGE... — installs the Debian packages that are missing, and nothing else.
# A no-op (no apt, no network) when everything is present. Needs root or passwordless sudo
# only when something is missing.
set -eu
missing=()
for p in "$@"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then SUDO=""
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"
else
  echo "deps: need root to run: apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; then
  echo "deps: apt-get install failed; updating package lists and retrying"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
