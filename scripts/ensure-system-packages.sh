#!/usr/bin/env bash
# Installs the Debian packages the test suite runs for real, when they are missing:
#   redis-server (local Redis), haproxy (the local stand-in for the ALB in the boot tests) and openssl (the local
#   CAs that stand in for the RDS CA and Amazon's root in front of PostgreSQL and Redis), iproute2 (`ip`, which brings
#   up loopback in the port hand-over test's own network namespace).
# Needs root and apt-get; elsewhere it says what to install and fails.
set -euo pipefail
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v haproxy >/dev/null || [[ -x /usr/sbin/haproxy ]] || missing+=(haproxy)
command -v openssl >/dev/null || missing+=(openssl)
command -v ip >/dev/null || [[ -x /usr/sbin/ip ]] || missing+=(iproute2)
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "ensure-system-packages: please install: ${missing[*]}" >&2
  exit 1
fi
echo "ensure-system-packages: installing ${missing[*]} from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
