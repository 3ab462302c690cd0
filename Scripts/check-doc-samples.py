#!/usr/bin/env python3
"""Checks that every Swift code sample in the documentation is compiled.

Every ```swift block in README.md and in the DocC catalog's articles
(Sources/Finalize/Finalize.docc/**/*.md) must appear in a Swift file that CI
compiles: Tests/DocExampleTests (built by `swift build --build-tests`),
Sources/finalize-demo (the demo) or Examples/ServiceLifecycle/Sources (built
by .ci/example-service-lifecycle.sh).

"Appear" means line for line: the sample's lines, with leading and trailing
whitespace removed and blank lines dropped, must be consecutive lines of one
file, compared the same way. A sample's leading import lines (`import X`,
`#if canImport(X)`, `#elseif canImport(X)`, `#else`, `#endif`) are
file-level: each must appear somewhere in the file that holds the rest.

A sample that cannot compile on purpose (one that shows a mistake) is marked
by an HTML comment on the line before its fence, which neither GitHub nor
DocC renders:

    <!-- doc-sample: not compiled: <the reason> -->

Usage: python3 Scripts/check-doc-samples.py [-v]   (from the package root)
Exits with status 1 if a sample is missing, naming it.
"""

import glob
import os
import re
import sys

DOCS = ["README.md"] + sorted(glob.glob("Sources/Finalize/Finalize.docc/**/*.md", recursive=True))
COMPILED = ["Tests/DocExampleTests", "Sources/finalize-demo", "Examples/ServiceLifecycle/Sources"]
MARKER = re.compile(r"^\s*<!--\s*doc-sample:\s*not compiled:\s*(\S.*?)\s*-->\s*$")
FENCE = re.compile(r"^\s*(```+)\s*([\w+-]*)")
FILE_LEVEL = re.compile(r"^(@testable\s+)?import\s+\w+$|^#(if|elseif)\s+canImport\(\w+\)$|^#else$|^#endif$")


def normalized(lines):
    return [line.strip() for line in lines if line.strip()]


def samples(path):
    """Yields (line number, info, lines, reason-if-marked) for each fenced block."""
    with open(path, encoding="utf-8") as file:
        lines = file.read().split("\n")
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        fence, info = match.group(1), match.group(2)
        start = index
        marker = MARKER.match(lines[index - 1]) if index > 0 else None
        body = []
        index += 1
        while index < len(lines) and not lines[index].strip().startswith(fence):
            body.append(lines[index])
            index += 1
        index += 1
        yield start + 1, info, body, marker.group(1) if marker else None


def compiled_sources():
    sources = {}
    for root in COMPILED:
        for path in sorted(glob.glob(os.path.join(root, "**", "*.swift"), recursive=True)):
            with open(path, encoding="utf-8") as file:
                sources[path] = normalized(file.read().split("\n"))
    return sources


def contains(haystack, needle):
    if not needle:
        return True
    first = needle[0]
    for start in range(len(haystack) - len(needle) + 1):
        if haystack[start] == first and haystack[start:start + len(needle)] == needle:
            return True
    return False


def find(sample, sources):
    """The file that compiles `sample`, or None."""
    lines = normalized(sample)
    split = 0
    while split < len(lines) and FILE_LEVEL.match(lines[split]):
        split += 1
    file_level, body = lines[:split], lines[split:]
    if not body:  # only imports: they must appear together
        body, file_level = file_level, []
    for path, source in sources.items():
        if contains(source, body) and all(line in source for line in file_level):
            return path
    return None


def main():
    verbose = "-v" in sys.argv[1:]
    sources = compiled_sources()
    missing, compiled, exempt = [], 0, []
    for doc in DOCS:
        for line, info, body, reason in samples(doc):
            if info != "swift":
                if reason:
                    missing.append(f"{doc}:{line}: a not-compiled marker before a ```{info or 'text'} block")
                continue
            if reason:
                exempt.append(f"{doc}:{line}: not compiled: {reason}")
                continue
            where = find(body, sources)
            if where:
                compiled += 1
                if verbose:
                    print(f"{doc}:{line}: compiled in {where}")
            else:
                first = next((l.strip() for l in body if l.strip()), "")
                missing.append(f"{doc}:{line}: not found in the compiled sources: {first}")
    for line in exempt:
        print(line)
    for line in missing:
        print(f"error: {line}", file=sys.stderr)
    print(f"{compiled} Swift samples compiled, {len(exempt)} marked not compiled, {len(missing)} missing")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
