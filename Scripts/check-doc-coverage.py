#!/usr/bin/env python3
"""Fails when a public symbol of the Finalize module has no doc comment, or
when the catalog's landing page leaves a top-level symbol out of its Topics.

Reads the symbol graphs that Scripts/build-docs.sh has the compiler emit
(public symbols only) and lists every symbol whose doc comment is missing,
empty, or inherited from another module (a protocol requirement's comment
shown in place of the symbol's own). Members that the compiler synthesizes
for a conformance (`!=` for `Equatable`, say) are not written in the source
and are skipped.

With a DocC archive as second argument, it also checks that the landing page
(Finalize.md) groups every top-level symbol in its Topics: DocC puts a symbol
that no Topics section names into a section of its own, marked `generated`.

Usage: python3 Scripts/check-doc-coverage.py <symbol-graph-dir> [<docc-archive>]
Exits with status 1 if a symbol is undocumented or left out, naming it.
"""

import glob
import json
import os
import sys

MODULE = "Finalize"


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    paths = sorted(glob.glob(os.path.join(sys.argv[1], f"{MODULE}*.symbols.json")))
    if not paths:
        print(f"error: no {MODULE} symbol graph in {sys.argv[1]}", file=sys.stderr)
        return 2
    checked, missing = 0, []
    for path in paths:
        with open(path, encoding="utf-8") as file:
            graph = json.load(file)
        for symbol in graph["symbols"]:
            if "::SYNTHESIZED::" in symbol["identifier"]["precise"]:
                continue
            if symbol.get("accessLevel") not in ("public", "open"):
                continue
            checked += 1
            comment = symbol.get("docComment") or {}
            text = "".join(line.get("text", "") for line in comment.get("lines", [])).strip()
            own = comment.get("module", MODULE) == MODULE
            if text and own:
                continue
            name = ".".join(symbol["pathComponents"])
            kind = symbol["kind"]["displayName"]
            location = symbol.get("location", {})
            where = location.get("uri", "").replace("file://", "")
            if where:
                where = os.path.relpath(where) + f":{location.get('position', {}).get('line', 0) + 1}"
            reason = "inherits another module's comment" if text else "no doc comment"
            missing.append(f"{where or '?'}: {kind} {name}: {reason}")
    for line in sorted(missing):
        print(f"error: {line}", file=sys.stderr)
    print(f"{checked} public symbols, {checked - len(missing)} documented, {len(missing)} undocumented")
    uncurated = []
    if len(sys.argv) == 3:
        page = os.path.join(sys.argv[2], "data", "documentation", MODULE.lower() + ".json")
        with open(page, encoding="utf-8") as file:
            sections = json.load(file).get("topicSections", [])
        for section in sections:
            if section.get("generated"):
                for identifier in section["identifiers"]:
                    uncurated.append(identifier.rsplit("/", 1)[-1])
        for name in uncurated:
            print(f"error: {name} is in no Topics section of Finalize.docc/Finalize.md", file=sys.stderr)
        print(f"{len(uncurated)} top-level symbols missing from the landing page's Topics")
    return 1 if missing or uncurated else 0


if __name__ == "__main__":
    sys.exit(main())
