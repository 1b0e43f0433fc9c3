#!/usr/bin/env bash
# Installs a Cyphr bundle; shipped inside the archive and run from its folder by the image build
# (EC2 Image Builder component) or by the boot tests with a temporary prefix.
#
#   ./install.sh [--prefix /opt/cyphr] [--etc /etc/cyphr] [--systemd-dir /etc/systemd/system]
#                [--node /usr/bin/node] [--no-system-user]
#
# Lays the release out as <prefix>/releases/<version>, points <prefix>/current at it atomically, renders the
# systemd units, and (as root) creates the unprivileged `cyphr` user. It writes no settings and no secrets:
# user data writes /etc/cyphr/cyphr.env at boot, and the processes fetch secrets by ARN at start-up.
set -euo pipefail
bundle="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
prefix=/opt/cyphr etc_dir=/etc/cyphr systemd_dir=/etc/systemd/system node_bin="" system_user=1

while [[ $# -gt 0 ]]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --etc) etc_dir=$2; shift 2 ;;
    --systemd-dir) systemd_dir=$2; shift 2 ;;
    --node) node_bin=$2; shift 2 ;;
    --no-system-user) system_user=0; shift ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

node_bin=${node_bin:-$(command -v node || true)}
[[ -x "$node_bin" ]] || { echo "install.sh: Node.js not found; install Node.js 20+ or pass --node" >&2; exit 1; }
major=$("$node_bin" -p 'process.versions.node.split(".")[0]')
((major >= 20)) || { echo "install.sh: Node.js $major is too old; 20+ is required" >&2; exit 1; }
# Several cyphr-api@<n> processes share port 3001 through SO_REUSEPORT, which Node.js has from 22.12; on an older
# Node.js the second one cannot bind: run one process per instance there.
"$node_bin" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)' ||
  echo "install.sh: Node.js $("$node_bin" --version) cannot share the API port; start only cyphr-api@0" >&2

version=$(cat "$bundle/VERSION")
release="$prefix/releases/$version"

if [[ $system_user -eq 1 && $(id -u) -eq 0 ]] && ! id cyphr >/dev/null 2>&1; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin cyphr
fi

mkdir -p "$prefix/releases" "$systemd_dir" "$etc_dir"
rm -rf "$release.partial"
mkdir -p "$release.partial"
cp -a "$bundle/app" "$bundle/certs" "$bundle/node_modules" "$bundle/package.json" "$bundle/VERSION" "$bundle/manifest.json" "$release.partial/"
rm -rf "$release"
mv "$release.partial" "$release"
# Switch releases atomically: a new symlink renamed over the old one.
ln -sfn "releases/$version" "$prefix/current.new"
mv -T "$prefix/current.new" "$prefix/current"

# Releases before one process per vCPU shipped plain cyphr-api/cyphr-worker units; an in-place upgrade stops and
# removes them, or the old API unit would hold port 3001 against the template units.
for unit in cyphr-api.service cyphr-worker.service; do
  [[ -f "$systemd_dir/$unit" ]] || continue
  if [[ "$systemd_dir" == /etc/systemd/system ]] && command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    systemctl disable --now "$unit" || true
  fi
  rm -f "$systemd_dir/$unit"
done

hardening=$(grep -v '^#' "$bundle/systemd/hardening.conf")
# Every unit the bundle ships.
for path in "$bundle"/systemd/*.service; do
  unit=$(basename "$path")
  awk -v prefix="$prefix" -v node="$node_bin" -v hardening="$hardening" '
    { gsub(/@PREFIX@/, prefix); gsub(/@NODE@/, node) }
    /^@HARDENING@$/ { print hardening; next }
    { print }' "$bundle/systemd/$unit" >"$systemd_dir/$unit"
  chmod 644 "$systemd_dir/$unit"
done

if [[ $(id -u) -eq 0 ]] && id cyphr >/dev/null 2>&1; then
  chown root:cyphr "$etc_dir" && chmod 750 "$etc_dir"
fi
if [[ "$systemd_dir" == /etc/systemd/system ]] && command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
  systemctl daemon-reload
fi
echo "install.sh: cyphr $version installed in $release (current -> releases/$version); units in $systemd_dir"
