#!/usr/bin/env python3
"""Run the Swift finalizer benchmark and its peers side by side.

Runs (from the repository root)
    swift build -c release --product finalize-bench
    swift run -c release --skip-build finalize-bench --json --n N
and then each peer program in this directory:
    python3 python_finalize.py --n N --runs R
    javac -Xlint:all -d <tmp> JavaCleaner.java; java -Xmx4g -cp <tmp> JavaCleaner --n N --runs R
    node --expose-gc node_finalization.js --n N --runs R
and prints one table: ns/op per workload per runtime, the ratio to the Swift
`floor` median (a hand-written deinit calling a stored closure), the ratio to
the comparable Swift row, and heap bytes per pending registration.

A runtime that fails (or is missing) is reported as an error row; the rest of
the comparison still prints. Only the standard library is used.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
PEERS = ("python", "java", "node")

# Comparable rows: (title, Swift workloads, peer workload). The first Swift
# workload of a group is the reference for the "x swift" column.
GROUPS = (
    (
        "register, drop owner, cleanup has run",
        ("host_register_release", "watched_register_release_sweep"),
        "register_collect",
    ),
    ("register then cancel without running", ("register_detach",), "register_detach"),
    ("run pending cleanups explicitly", ("run_now",), "run_now"),
    ("register only, owners kept alive", ("register_only",), "register_only"),
)


class RunError(Exception):
    pass


def log(msg):
    print(f"[compare] {msg}", file=sys.stderr, flush=True)


def tail(text, lines=3):
    text = (text or "").strip()
    return " | ".join(text.splitlines()[-lines:]) if text else ""


def extract_json(text):
    """The last top-level JSON object in `text` (build chatter may precede it)."""
    text = text or ""
    try:
        obj = json.loads(text)
        if isinstance(obj, dict):
            return obj
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    found = None
    idx = text.find("{")
    while idx != -1:
        try:
            obj, end = decoder.raw_decode(text, idx)
        except ValueError:
            idx = text.find("{", idx + 1)
            continue
        if isinstance(obj, dict):
            found = obj
        idx = text.find("{", end)
    if found is None:
        raise RunError("no JSON object in output" + (f": {tail(text)}" if text.strip() else " (empty)"))
    return found


def run(cmd, cwd, timeout):
    log("$ " + " ".join(cmd))
    try:
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise RunError(f"command not found: {cmd[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise RunError(f"timed out after {timeout} s: {' '.join(cmd)}") from exc
    if proc.returncode != 0:
        detail = tail(proc.stderr) or tail(proc.stdout)
        raise RunError(f"exit status {proc.returncode}: {' '.join(cmd[:4])}... {detail}")
    return proc.stdout or ""


def validate(obj, runtime):
    if not isinstance(obj.get("results"), dict):
        raise RunError(f"{runtime}: JSON has no 'results' object")
    for name, res in obj["results"].items():
        if not isinstance(res, dict) or not isinstance(res.get("median_ns_per_op"), (int, float)):
            raise RunError(f"{runtime}: workload {name!r} has no numeric median_ns_per_op")
    return obj


# ------------------------------------------------------------------ runners


def run_swift(args):
    if shutil.which("swift") is None:
        raise RunError("`swift` not found on PATH")
    log("building finalize-bench (release); this can take a while")
    run(
        ["swift", "build", "-c", "release", "--product", "finalize-bench"],
        cwd=REPO_ROOT,
        timeout=args.build_timeout,
    )
    out = run(
        ["swift", "run", "-c", "release", "--skip-build", "finalize-bench", "--json", "--n", str(args.n)],
        cwd=REPO_ROOT,
        timeout=args.timeout,
    )
    return validate(extract_json(out), "swift")


def run_python(args):
    out = run(
        [sys.executable, os.path.join(HERE, "python_finalize.py"), "--n", str(args.n), "--runs", str(args.runs)],
        cwd=HERE,
        timeout=args.timeout,
    )
    return validate(extract_json(out), "python")


def run_java(args):
    for tool in ("javac", "java"):
        if shutil.which(tool) is None:
            raise RunError(f"`{tool}` not found on PATH")
    with tempfile.TemporaryDirectory(prefix="finalize-peers-java-") as classes:
        run(
            ["javac", "-Xlint:all", "-Werror", "-d", classes, os.path.join(HERE, "JavaCleaner.java")],
            cwd=HERE,
            timeout=args.build_timeout,
        )
        out = run(
            ["java", f"-Xmx{args.java_xmx}", "-cp", classes, "JavaCleaner", "--n", str(args.n), "--runs", str(args.runs)],
            cwd=HERE,
            timeout=args.timeout,
        )
    return validate(extract_json(out), "java")


def run_node(args):
    if shutil.which("node") is None:
        raise RunError("`node` not found on PATH")
    out = run(
        ["node", "--expose-gc", os.path.join(HERE, "node_finalization.js"), "--n", str(args.n), "--runs", str(args.runs)],
        cwd=HERE,
        timeout=args.timeout,
    )
    return validate(extract_json(out), "node")


RUNNERS = {"python": run_python, "java": run_java, "node": run_node}


# ------------------------------------------------------------------- report


def fmt_ns(x):
    if x is None:
        return "-"
    if x >= 1000:
        return f"{x:,.0f}"
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def ratio(x, ref):
    if x is None or not ref:
        return "n/a"
    return f"{x / ref:.2f}x"


def median_of(data, workload):
    if not data:
        return None
    res = data.get("results", {}).get(workload)
    return float(res["median_ns_per_op"]) if res else None


def paired_floor_ratio(data, workload):
    """The Swift run's own paired ratio to the floor (both measured in
    alternating slices in one process), or None."""
    res = (data or {}).get("results", {}).get(workload) or {}
    r = res.get("median_paired_ratio")
    if res.get("reference") == "floor" and isinstance(r, (int, float)):
        return f"{r:.2f}x*"
    return None


def spread(data, workload):
    res = (data or {}).get("results", {}).get(workload) or {}
    runs = res.get("runs_ns_per_op") or []
    if len(runs) < 2:
        return ""
    return f"{min(runs):.0f}..{max(runs):.0f} ({len(runs)} runs)"


class Table:
    HEAD = ("runtime", "workload", "median ns/op", "x floor", "x swift", "spread")

    def __init__(self):
        self.rows = []

    def section(self, title):
        self.rows.append(("#", title))

    def row(self, *cells):
        self.rows.append(tuple(str(c) for c in cells))

    def note(self, runtime, text):
        self.rows.append(("!", runtime, text))

    def render(self):
        cells = [r for r in self.rows if r[0] not in ("#", "!")]
        widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(self.HEAD)]
        right = {2, 3, 4}

        def line(r):
            parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
            return "  ".join(parts).rstrip()

        out = [line(self.HEAD), "  ".join("-" * w for w in widths)]
        for r in self.rows:
            if r[0] == "#":
                out.append("")
                out.append(f"== {r[1]}")
            elif r[0] == "!":
                out.append("  ".join([r[1].ljust(widths[0]), r[2]]))
            else:
                out.append(line(r))
        return "\n".join(out)


def report(args, data, errors):
    swift = data.get("swift")
    floor = median_of(swift, "floor")
    peers = [p for p in PEERS if p in data or p in errors]

    print()
    print(f"Finalizer benchmark comparison, n = {args.n:,} (peers: median of {args.runs} runs)")
    if swift:
        sn = swift.get("n")
        print(f"Swift floor (deinit calling a stored closure): {fmt_ns(floor)} ns/op" + (f", swift n = {sn:,}" if isinstance(sn, int) else ""))
    else:
        print("Swift: " + (errors.get("swift") or "not run") + "  -> ratio columns show n/a")
    print("x floor = median / Swift floor median; x swift = median / first Swift row of the group.")
    print("x floor marked * (Swift rows): finalize-bench's paired ratio, the row and the floor measured")
    print("in alternating slices in one process (steadier on a noisy machine than two medians).")

    t = Table()
    grouped = set()

    for title, swift_names, peer_name in GROUPS:
        grouped.update(swift_names)
        grouped.add(peer_name)
        t.section(f"{title}  [swift: {', '.join(swift_names)} | peers: {peer_name}]")
        ref = None
        if swift:
            for i, name in enumerate(swift_names):
                m = median_of(swift, name)
                if i == 0:
                    ref = m
                if m is None:
                    t.row("swift", name, "-", "n/a", "n/a", "(not reported)")
                else:
                    x_floor = paired_floor_ratio(swift, name) or ratio(m, floor)
                    t.row("swift", name, fmt_ns(m), x_floor, ratio(m, ref), spread(swift, name))
        elif "swift" in errors:
            t.note("swift", "ERROR (see above)")
        for p in peers:
            if p in errors:
                t.note(p, f"ERROR: {errors[p]}")
                continue
            m = median_of(data[p], peer_name)
            if m is None:
                t.row(p, peer_name, "-", "n/a", "n/a", "(omitted: no equivalent, see notes)")
            else:
                t.row(p, peer_name, fmt_ns(m), ratio(m, floor), ratio(m, ref), spread(data[p], peer_name))

    if swift:
        rest = [w for w in swift.get("results", {}) if w not in grouped]
        if rest:
            t.section("Swift-only rows")
            for name in rest:
                m = median_of(swift, name)
                t.row("swift", name, fmt_ns(m), paired_floor_ratio(swift, name) or ratio(m, floor), "", spread(swift, name))
    extra = [(p, w) for p in peers if p in data for w in data[p].get("results", {}) if w not in grouped]
    if extra:
        t.section("Other peer rows")
        for p, w in extra:
            m = median_of(data[p], w)
            t.row(p, w, fmt_ns(m), ratio(m, floor), "n/a", spread(data[p], w))

    print(t.render())

    print()
    print("== Heap bytes per pending registration (owners alive, owners themselves excluded)")
    for rt in ("swift",) + PEERS:
        if rt in errors:
            print(f"  {rt:<7} ERROR: {errors[rt]}")
            continue
        if rt not in data:
            continue
        mem = data[rt].get("memory_bytes_per_registration")
        if isinstance(mem, dict):
            if not mem:
                print(f"  {rt:<7} (none reported)")
            for k, v in mem.items():
                v = f"{v:.1f}" if isinstance(v, (int, float)) else str(v)
                print(f"  {rt:<7} {k:<40} {v:>9}")
        elif isinstance(mem, (int, float)):
            print(f"  {rt:<7} {'':<40} {mem:>9.1f}")
        else:
            print(f"  {rt:<7} (not reported)")

    notes = [(rt, data[rt].get("notes")) for rt in ("swift",) + PEERS if rt in data and data[rt].get("notes")]
    if notes and not args.no_notes:
        print()
        print("== Notes")
        for rt, text in notes:
            print(textwrap.fill(str(text), width=100, initial_indent=f"  {rt}: ", subsequent_indent="    "))


# --------------------------------------------------------------------- main


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="operations per run (default 1000000)")
    ap.add_argument("--runs", type=int, default=3, help="runs per peer workload; median reported (default 3)")
    ap.add_argument("--skip-swift", action="store_true", help="do not build/run the Swift benchmark")
    ap.add_argument("--swift-json", metavar="FILE", help="with --skip-swift: read Swift results from FILE")
    ap.add_argument("--only", metavar="LIST", help="comma-separated subset of peers: python,java,node")
    ap.add_argument("--java-xmx", default="4g", help="java -Xmx value (default 4g)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds allowed per benchmark program (default 900)")
    ap.add_argument("--build-timeout", type=float, default=1800, help="seconds allowed per build step (default 1800)")
    ap.add_argument("--save", metavar="FILE", help="also write all collected JSON (and errors) to FILE")
    ap.add_argument("--no-notes", action="store_true", help="do not print the per-runtime notes")
    args = ap.parse_args(argv)
    if args.n <= 0 or args.runs <= 0:
        ap.error("--n and --runs must be positive")
    if args.swift_json and not args.skip_swift:
        ap.error("--swift-json requires --skip-swift")
    if args.only:
        chosen = [p.strip().lower() for p in args.only.split(",") if p.strip()]
        bad = [p for p in chosen if p not in PEERS]
        if bad:
            ap.error(f"--only: unknown peer(s) {', '.join(bad)}; choose from {', '.join(PEERS)}")
        args.peers = [p for p in PEERS if p in chosen]
    else:
        args.peers = list(PEERS)
    return args


def main(argv=None):
    args = parse_args(argv)
    data, errors = {}, {}

    if not args.skip_swift:
        try:
            data["swift"] = run_swift(args)
        except RunError as exc:
            errors["swift"] = str(exc)
            log(f"swift failed: {exc}")
    elif args.swift_json:
        try:
            with open(args.swift_json, encoding="utf-8") as fh:
                data["swift"] = validate(extract_json(fh.read()), "swift")
        except (OSError, RunError) as exc:
            errors["swift"] = f"cannot use {args.swift_json}: {exc}"
            log(errors["swift"])

    for peer in args.peers:
        try:
            data[peer] = RUNNERS[peer](args)
        except RunError as exc:
            errors[peer] = str(exc)
            log(f"{peer} failed: {exc}")
        except Exception as exc:  # keep going whatever a peer does
            errors[peer] = f"{type(exc).__name__}: {exc}"
            log(f"{peer} failed: {errors[peer]}")

    report(args, data, errors)

    if args.save:
        with open(args.save, "w", encoding="utf-8") as fh:
            json.dump({"n": args.n, "runs": args.runs, "data": data, "errors": errors}, fh, indent=2)
            fh.write("\n")
        log(f"wrote {args.save}")

    return 1 if errors else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stderr.close()
        sys.exit(1)
