#!/usr/bin/env bash
# Builds the DocC documentation of the engine's public API (module ResidualStore, catalog
# Sources/ResidualStore/ResidualStore.docc) with the toolchain's own docc: no package plugin.
# Usage: Tools/docs.sh [OUTPUT]   (default .build/docs/ResidualStore.doccarchive)
#
# Fails (exit 1) on any DocC warning, an unresolved ``symbol`` link in the catalog or in a doc
# comment included: a renamed or removed public symbol shows here, not in a reader's browser.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-.build/docs/ResidualStore.doccarchive}"
module=ResidualStore
catalog="Sources/$module/$module.docc"
docc="${DOCC:-$(command -v docc || echo /opt/swift/usr/bin/docc)}"
graphs=.build/docs/symbol-graphs
log=.build/docs/docc.log

# Symbol graphs of the public API, from the ordinary debug build (reused when up to date).
dump="$(swift package dump-symbol-graph --minimum-access-level public 2>&1)" || { echo "$dump" >&2; exit 1; }
from="$(printf '%s\n' "$dump" | sed -n 's/^Files written to //p' | tail -1)"
if [ -z "$from" ] || [ ! -f "$from/$module.symbols.json" ]; then
    echo "docs: no $module.symbols.json from 'swift package dump-symbol-graph':" >&2
    printf '%s\n' "$dump" | tail -20 >&2
    exit 1
fi
# Only this module's graphs (its own and its extensions of other modules' types).
rm -rf "$graphs" "$out"
mkdir -p "$graphs"
cp "$from/$module.symbols.json" "$graphs/"
find "$from" -maxdepth 1 -name "$module@*.symbols.json" -exec cp {} "$graphs/" \;

rc=0
"$docc" convert "$catalog" --additional-symbol-graph-dir "$graphs" \
    --fallback-display-name "$module" --fallback-bundle-identifier "org.residualstore.$module" \
    --output-path "$out" --warnings-as-errors >"$log" 2>&1 || rc=$?
# docc's exit status already covers --warnings-as-errors; the grep guards older docc versions.
if [ "$rc" -ne 0 ] || grep -qE '(warning|error):' "$log"; then
    grep -E -A3 '(warning|error):' "$log" >&2 || cat "$log" >&2
    echo "docs: FAILED (docc exit $rc; fix the links and comments above; full log: $log)" >&2
    exit 1
fi
echo "docs: $out (no warnings)"
