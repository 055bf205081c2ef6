#!/usr/bin/env bash
# Install the pinned npm packages tests/k8s needs (node/package-lock.json)
# into cache/node, once: a stamp holding the lock file's checksum makes a
# second run a no-op. Prints the directory. Needs node and npm (Debian's
# nodejs/npm packages, or any Node.js >= 18).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
src=$top/tests/k8s/node
dst=${STINT_NODE_DIR:-$top/cache/node}
command -v npm >/dev/null || { echo "setup-node: npm not found (apt-get install npm)" >&2; exit 1; }
sum=$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$dst/.stamp" 2>/dev/null)" != "$sum" ] || [ ! -d "$dst/node_modules" ]; then
	mkdir -p "$dst"
	cp "$src/package.json" "$src/package-lock.json" "$dst/"
	# --ignore-scripts: nothing here needs an install script; the engine
	# warnings (kubernetes-models asks for Node 22) are harmless on 18/20:
	# tests/k8s/test-manifests.sh proves the validator works by feeding it
	# broken manifests that must be rejected.
	(cd "$dst" && timeout 300 npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
	echo "$sum" >"$dst/.stamp"
fi
# The scripts import from there: keep them next to node_modules.
cp "$src"/*.mjs "$dst/"
echo "$dst"
