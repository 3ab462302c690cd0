#!/usr/bin/env bash
# Builds the documentation archive of the Finalize module into .build/docs
# (or $DOCS_OUTPUT) with the toolchain's own `docc`; no package plugin.
#
#   1. compiles the Finalize target with the compiler emitting its symbol
#      graph (public symbols), in a scratch path of its own (.build-docs) so
#      that the extra flags do not invalidate .build;
#   2. fails if a public symbol has no doc comment (Scripts/check-doc-coverage.py);
#   3. runs `docc convert` on Sources/Finalize/Finalize.docc with
#      --warnings-as-errors: a broken symbol link, an unknown article or a
#      malformed directive fails the build;
#   4. fails if the landing page leaves a top-level symbol out of its Topics.
#
# Open the result with any static file server, for example
# `python3 -m http.server --directory .build/docs` and
# http://localhost:8000/documentation/finalize.
set -euo pipefail
cd "$(dirname "$0")/.."

scratch=.build-docs
graphs="$scratch/symbol-graphs"
output="${DOCS_OUTPUT:-.build/docs}"
diagnostics="$scratch/docc-diagnostics.json"

step() { printf '\n==> %s\n' "$*"; }

step "symbol graph of Finalize"
# The compiler writes the graph only when it compiles the module, so start
# from a clean scratch path: a stale or missing graph is never used.
rm -rf "$scratch"
mkdir -p "$graphs"
swift build --target Finalize --scratch-path "$scratch" \
    -Xswiftc -emit-symbol-graph \
    -Xswiftc -emit-symbol-graph-dir -Xswiftc "$graphs" \
    -Xswiftc -symbol-graph-minimum-access-level -Xswiftc public

step "every public symbol has a doc comment"
python3 Scripts/check-doc-coverage.py "$graphs"

step "docc convert (warnings are errors)"
rm -rf "$output"
mkdir -p "$(dirname "$output")"
# Overloaded symbols (the synchronous and asynchronous `shutdown()`, the
# `finalize` overloads) get one page per name that lists the overloads, so
# a link by name such as ``FinalizerRegistry/shutdown()`` resolves to it
# instead of being ambiguous.
status=0
docc convert Sources/Finalize/Finalize.docc \
    --additional-symbol-graph-dir "$graphs" \
    --output-path "$output" \
    --fallback-display-name Finalize \
    --fallback-bundle-identifier Finalize \
    --enable-experimental-overloaded-symbol-presentation \
    --diagnostics-file "$diagnostics" \
    --warnings-as-errors || status=$?
count=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1])).get("diagnostics", [])))' "$diagnostics")
echo "docc: $count warnings or errors"
if [ "$status" -ne 0 ] || [ "$count" -ne 0 ]; then
    echo "error: the documentation has $count diagnostics (docc exited with $status)" >&2
    exit 1
fi

step "the landing page groups every top-level symbol"
python3 Scripts/check-doc-coverage.py "$graphs" "$output"

echo "Documentation archive: $output"
