#!/usr/bin/env bash
# Installs the Node.js test packages into DIR/node_modules with `npm ci` from DIR/package-lock.json (a
# copy of tests/node/package-lock.json). Skipped while node_modules was installed from this exact lock;
# serialized with flock so concurrent ctest runs do not install over each other.
#
# usage: npm-ci.sh DIR
set -euo pipefail
DIR=${1:?usage: npm-ci.sh DIR}
cd "$DIR"
command -v node >/dev/null || { echo "npm-ci: node not found (run scripts/bootstrap)" >&2; exit 2; }
command -v npm >/dev/null || { echo "npm-ci: npm not found (run scripts/bootstrap)" >&2; exit 2; }
exec 9>"$DIR/.npm-ci.lock"
flock 9
STAMP=node_modules/.bespoke-lock-stamp # npm ci removes node_modules, and the stamp with it
if [ -f "$STAMP" ] && cmp -s package-lock.json "$STAMP"; then
  echo "npm-ci: $DIR/node_modules is up to date with package-lock.json"
  exit 0
fi
echo "npm-ci: node $(node --version), npm $(npm --version)"
npm ci --no-audit --no-fund
cp package-lock.json "$STAMP"
