#!/usr/bin/env python3
"""Run the Swift finalizer benchmark and its peers side by side.

Runs (from the repository root)
    swift build -c release --product finalize-bench
    swift run -c release --skip-build finalize-bench --json --n N
and then each peer program in this directory:
    python3 python_finalize.py --n N --runs R --idle-seconds S
    javac -Xlint:all -d <tmp> JavaCleaner.java; java -Xmx4g -cp <tmp> JavaCleaner --n N --runs R --idle-seconds S
    java -Xmx4g -XX:+UseSerialGC -cp <tmp> JavaCleaner --n N --runs R --idle-seconds S --batch-only
    node --expose-gc node_finalization.js --n N --runs R --idle-seconds S
(--quick: N = 100000, R = 1, S = 1) and prints one table: ns/op per workload per runtime, the ratio to the Swift
`floor` median (a hand-written deinit calling a stored closure), the ratio to
the comparable Swift row, and heap bytes per pending registration.

The JVM runs twice: with its default collector (`java`) and with
-XX:+UseSerialGC (`java_serialgc`, batch forms only). A second table, "batch
forms", puts the batch workloads side by side: one row per workload, one
column per runtime (Swift host, Swift watched, Swift sentinel, Python, Java
default GC, Java SerialGC, Node), each cell the figure and its ratio to the
Swift `batch_sentinel` of the same run. Keys a runtime does not report print
as an em dash, so it works before the Swift side has them.

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
PEERS = ("python", "java", "java_serialgc", "node")
# The runtimes of the first table (java_serialgc runs the batch forms only).
CLASSIC_PEERS = ("python", "java", "node")

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

# ------------------------------------------------------------ batch forms

# Columns of the batch table: (column id, heading). Swift columns read keys of
# the Swift JSON; peer columns read the peer's own JSON.
BATCH_COLUMNS = (
    ("swift_host", "Swift host"),
    ("swift_watched", "Swift watched"),
    ("swift_sentinel", "Swift sentinel"),
    ("python", "Python"),
    ("java", "Java default GC"),
    ("java_serialgc", "Java SerialGC"),
    ("node", "Node"),
)
SWIFT_COLUMNS = ("swift_host", "swift_watched", "swift_sentinel")

# Rows: (row name, description, unit, {Swift column: Swift key}, peer key).
# unit "ns": ns per owner, ratio to Swift batch_sentinel; "B": bytes per
# registration, ratio to Swift memory_sentinel_batch; "%" (of one core), "ms"
# and "x" (throughput, 2 threads over 1): no ratio. A peer key "memory_batch"
# reads the peer's top-level memory_batch_bytes_per_registration, "idle_cpu"
# its results.idle_cpu.percent_of_core, "threads_throughput" the throughput
# ratio of batch_threads2 to batch_threads1.
BATCH_REF = "batch_sentinel"
BATCH_MEMORY_REF = "memory_sentinel_batch"
BATCH_ROWS = (
    (
        "register_drop",
        "N owners made and kept alive, a capturing cleanup registered on each, all dropped; "
        "timed until all N cleanups ran",
        "ns",
        {"swift_host": "batch_host", "swift_watched": "batch_watched", "swift_sentinel": "batch_sentinel"},
        "batch_register_drop",
    ),
    (
        "register_drop_anyobject",
        "the same, Swift host owners as AnyObject (finalize-bench's batch_host_anyobject)",
        "ns",
        {"swift_host": "batch_host_anyobject"},
        None,
    ),
    (
        "register_detach",
        "N live owners registered, then every registration cancelled",
        "ns",
        {"swift_host": "batch_host_detach", "swift_sentinel": "batch_sentinel_detach"},
        "batch_register_detach",
    ),
    (
        "run_now",
        "N pending registrations (made untimed) run explicitly, newest first",
        "ns",
        {"swift_host": "batch_run_now", "swift_sentinel": "batch_sentinel_run_now"},
        "batch_run_now",
    ),
    (
        "threads1",
        "register_drop on one thread (wall time / N)",
        "ns",
        {"swift_host": "batch_threads1"},
        "batch_threads1",
    ),
    (
        "threads2",
        "register_drop on two threads, N/2 each (wall time / N)",
        "ns",
        {"swift_host": "batch_threads2"},
        "batch_threads2",
    ),
    (
        "threads2_throughput",
        "throughput of two threads over one (threads1 / threads2)",
        "x",
        {"swift_host": "threads_throughput"},
        "threads_throughput",
    ),
    (
        "sweep_interleaved_shuffled",
        "Swift only: sweep with live and dead watched entries interleaved, shuffled (ms)",
        "ms",
        {"swift_watched": "sweep_interleaved_shuffled"},
        None,
    ),
    (
        "idle_cpu",
        "CPU over an idle window with N live registered owners, % of one core "
        "(Swift: the background sweeper)",
        "%",
        {"swift_watched": "idle_sweeper_cpu"},
        "idle_cpu",
    ),
    (
        "memory",
        "heap bytes per registration with N live owners, capturing cleanup included",
        "B",
        {"swift_host": "memory_host_batch", "swift_sentinel": "memory_sentinel_batch"},
        "memory_batch",
    ),
)
# Keys the batch table shows (kept out of the first table's catch-all sections).
BATCH_SWIFT_KEYS = {k for row in BATCH_ROWS for k in row[3].values()} | {
    "batch_floor",
    "batch_threads1",
    "batch_threads2",
}
BATCH_PEER_KEYS = {
    "batch_register_drop",
    "batch_register_detach",
    "batch_run_now",
    "batch_threads1",
    "batch_threads2",
    "idle_cpu",
}


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
        err = RunError(f"exit status {proc.returncode}: {' '.join(cmd[:4])}... {detail}")
        err.output = (proc.stdout or "") + "\n" + (proc.stderr or "")
        raise err
    return proc.stdout or ""


def validate(obj, runtime):
    """Every result is null (no equivalent in that runtime), or has a numeric
    median_ns_per_op, or (idle_cpu) a numeric percent_of_core."""
    if not isinstance(obj.get("results"), dict):
        raise RunError(f"{runtime}: JSON has no 'results' object")
    for name, res in obj["results"].items():
        if res is None:
            continue
        if not isinstance(res, dict) or not any(
            isinstance(res.get(k), (int, float)) for k in ("median_ns_per_op", "percent_of_core")
        ):
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
    cmd = ["swift", "run", "-c", "release", "--skip-build", "finalize-bench", "--json", "--n", str(args.n)]
    if args.quick:
        cmd += ["--runs", str(args.runs)]
    if args.swift_idle_seconds is not None:
        try:
            out = run(cmd + ["--idle-seconds", f"{args.swift_idle_seconds:g}"], cwd=REPO_ROOT, timeout=args.timeout)
            return validate(extract_json(out), "swift")
        except RunError as exc:
            # A finalize-bench without the idle workload rejects the flag
            # ("unknown argument", exit status 2): run it again without.
            if "unknown argument --idle-seconds" not in getattr(exc, "output", str(exc)):
                raise
            log("finalize-bench does not take --idle-seconds; running it without")
    out = run(cmd, cwd=REPO_ROOT, timeout=args.timeout)
    return validate(extract_json(out), "swift")


def peer_n(args, peer):
    return getattr(args, f"n_{peer.split('_')[0]}", None) or args.n


def peer_args(args, peer):
    return ["--n", str(peer_n(args, peer)), "--runs", str(args.runs), "--idle-seconds", f"{args.idle_seconds:g}"]


def run_python(args):
    out = run(
        [sys.executable, os.path.join(HERE, "python_finalize.py")] + peer_args(args, "python"),
        cwd=HERE,
        timeout=args.timeout,
    )
    return validate(extract_json(out), "python")


def java_classes(args):
    """Compiles JavaCleaner.java once per compare.py run, into a temporary
    directory removed at exit (main's cleanup)."""
    for tool in ("javac", "java"):
        if shutil.which(tool) is None:
            raise RunError(f"`{tool}` not found on PATH")
    if getattr(args, "java_classes", None) is None:
        args.java_tmp = tempfile.TemporaryDirectory(prefix="finalize-peers-java-")
        run(
            ["javac", "-Xlint:all", "-Werror", "-d", args.java_tmp.name, os.path.join(HERE, "JavaCleaner.java")],
            cwd=HERE,
            timeout=args.build_timeout,
        )
        args.java_classes = args.java_tmp.name
    return args.java_classes


def run_java(args, gc_flags=(), extra=(), runtime="java"):
    classes = java_classes(args)
    out = run(
        ["java", f"-Xmx{args.java_xmx}", *gc_flags, "-cp", classes, "JavaCleaner"] + peer_args(args, runtime) + list(extra),
        cwd=HERE,
        timeout=args.timeout,
    )
    obj = validate(extract_json(out), runtime)
    obj["runtime"] = runtime
    return obj


def run_java_serialgc(args):
    return run_java(args, gc_flags=("-XX:+UseSerialGC",), extra=("--batch-only",), runtime="java_serialgc")


def run_node(args):
    if shutil.which("node") is None:
        raise RunError("`node` not found on PATH")
    out = run(
        ["node", "--expose-gc", os.path.join(HERE, "node_finalization.js")] + peer_args(args, "node"),
        cwd=HERE,
        timeout=args.timeout,
    )
    return validate(extract_json(out), "node")


RUNNERS = {"python": run_python, "java": run_java, "java_serialgc": run_java_serialgc, "node": run_node}


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
    if not isinstance(res, dict) or not isinstance(res.get("median_ns_per_op"), (int, float)):
        return None
    return float(res["median_ns_per_op"])


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
    peers = [p for p in CLASSIC_PEERS if p in data or p in errors]

    print()
    print(f"Finalizer benchmark comparison, n = {args.n:,} (peers: median of {args.runs} runs)")
    other_n = [f"{p} n = {peer_n(args, p):,}" for p in CLASSIC_PEERS if peer_n(args, p) != args.n]
    if other_n:
        print("per-runtime n: " + ", ".join(other_n))
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
        rest = [w for w in swift.get("results", {}) if w not in grouped and w not in BATCH_SWIFT_KEYS]
        if rest:
            t.section("Swift-only rows")
            for name in rest:
                m = median_of(swift, name)
                t.row("swift", name, fmt_ns(m), paired_floor_ratio(swift, name) or ratio(m, floor), "", spread(swift, name))
    extra = [
        (p, w)
        for p in peers
        if p in data
        for w in data[p].get("results", {})
        if w not in grouped and w not in BATCH_PEER_KEYS
    ]
    if extra:
        t.section("Other peer rows")
        for p, w in extra:
            m = median_of(data[p], w)
            t.row(p, w, fmt_ns(m), ratio(m, floor), "n/a", spread(data[p], w))

    print(t.render())

    print()
    print("== Heap bytes per pending registration (owners alive, owners themselves excluded)")
    for rt in ("swift",) + CLASSIC_PEERS:
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

    batch_report(args, data, errors)

    # java_serialgc runs the same program as java: its notes repeat java's.
    notes = [
        (rt, data[rt].get("notes"))
        for rt in ("swift",) + CLASSIC_PEERS
        if rt in data and data[rt].get("notes")
    ]
    if notes and not args.no_notes:
        print()
        print("== Notes")
        for rt, text in notes:
            print(textwrap.fill(str(text), width=100, initial_indent=f"  {rt}: ", subsequent_indent="    "))


def _num(x):
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def swift_value(swift, key):
    """A Swift figure by key: results[key] (its median_ns_per_op, whatever the
    unit, or percent_of_core), else memory_bytes_per_registration[key], else a
    top-level number. None if absent."""
    if not swift:
        return None
    if key == "threads_throughput":
        res = (swift.get("results") or {}).get("batch_threads2") or {}
        if res.get("reference") == "batch_threads1" and _num(res.get("median_paired_ratio")):
            return 1.0 / res["median_paired_ratio"]  # paired: time of 2 threads over 1
        one, two = swift_value(swift, "batch_threads1"), swift_value(swift, "batch_threads2")
        return one / two if one and two else None
    res = (swift.get("results") or {}).get(key)
    if isinstance(res, dict):
        for field in ("median_ns_per_op", "percent_of_core", "median"):
            if _num(res.get(field)) is not None:
                return _num(res.get(field))
    elif _num(res) is not None:
        return _num(res)
    mem = swift.get("memory_bytes_per_registration")
    if isinstance(mem, dict) and _num(mem.get(key)) is not None:
        return _num(mem.get(key))
    return _num(swift.get(key))


NONE = object()  # the runtime reports the workload as null: no equivalent


def peer_value(obj, key):
    if not obj or key is None:
        return None
    results = obj.get("results") or {}
    if key == "memory_batch":
        return _num(obj.get("memory_batch_bytes_per_registration"))
    if key == "threads_throughput":
        two = results.get("batch_threads2", "missing")
        if two is None:
            return NONE
        if isinstance(two, dict) and _num(two.get("throughput_ratio")) is not None:
            return _num(two["throughput_ratio"])
        one_v, two_v = median_of(obj, "batch_threads1"), median_of(obj, "batch_threads2")
        return one_v / two_v if one_v and two_v else None
    if key in results and results[key] is None:
        return NONE
    res = results.get(key)
    if key == "idle_cpu":
        return _num(res.get("percent_of_core")) if isinstance(res, dict) else None
    return median_of(obj, key)


def batch_cell(value, unit, ref, paired=None):
    if value is NONE:
        return "none"
    if value is None:
        return "\u2014"
    if unit == "%":
        return f"{value:.2f}%"
    if unit == "ms":
        return f"{value:.2f} ms"
    if unit == "x":
        return f"{value:.2f}x"
    text = fmt_ns(value) if unit == "ns" else f"{value:.0f} B"
    if paired is not None:
        return f"{text} ({paired:.2f}x*)"
    if ref:
        return f"{text} ({value / ref:.2f}x)"
    return text


def batch_report(args, data, errors):
    swift = data.get("swift")
    ref = swift_value(swift, BATCH_REF)
    mem_ref = swift_value(swift, BATCH_MEMORY_REF)
    present = {c for c, _ in BATCH_COLUMNS if c in SWIFT_COLUMNS or c in data or c in errors}
    columns = [(c, h) for c, h in BATCH_COLUMNS if c in present]

    print()
    print("== batch forms (N live owners, then dropped)")
    print("cell: median ns per owner (ratio to the Swift batch_sentinel of this run); memory: bytes per")
    print("registration (ratio to Swift memory_sentinel_batch); idle_cpu: % of one core; x*: finalize-bench's")
    print("paired ratio to batch_sentinel. none = no such operation in that runtime (see notes);")
    print("\u2014 = not reported (for Swift: finalize-bench has no such key yet); error = the runtime failed.")
    if swift:
        floor = swift_value(swift, "batch_floor")
        line = f"Swift batch_sentinel: {fmt_ns(ref) if ref else chr(0x2014)} ns"
        if floor is not None:
            line += f"; batch_floor: {fmt_ns(floor)} ns" + (f" ({floor / ref:.2f}x the sentinel)" if ref else "")
        print(line)
    else:
        print("Swift: " + (errors.get("swift") or "not run") + "  -> no ratios")

    header = ["workload"] + [h for _, h in columns]
    rows = []
    for name, _desc, unit, swift_keys, peer_key in BATCH_ROWS:
        cells = [name]
        for col, _ in columns:
            failed = "swift" in errors if col in SWIFT_COLUMNS else col in errors
            if failed:
                applies = col in swift_keys if col in SWIFT_COLUMNS else peer_key is not None
                cells.append("error" if applies else "\u2014")
                continue
            if col in SWIFT_COLUMNS:
                key = swift_keys.get(col)
                value = swift_value(swift, key) if key else None
                paired = None
                res = ((swift or {}).get("results") or {}).get(key) if key else None
                if unit == "ns" and isinstance(res, dict) and res.get("reference") == BATCH_REF:
                    paired = _num(res.get("median_paired_ratio"))
            else:
                value = peer_value(data.get(col), peer_key) if peer_key else None
                paired = None
            r = ref if unit == "ns" else mem_ref if unit == "B" else None
            cells.append(batch_cell(value, unit, r, paired))
        rows.append(cells)

    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    fmt = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(fmt(r))

    print()
    print("rows:")
    for name, desc, unit, swift_keys, peer_key in BATCH_ROWS:
        spell = {
            "threads_throughput": "batch_threads1 / batch_threads2",
            "memory_batch": "memory_batch_bytes_per_registration",
            "idle_cpu": "idle_cpu.percent_of_core",
        }
        keys = ", ".join(f"{dict(BATCH_COLUMNS)[c]}: {spell.get(k, k)}" for c, k in swift_keys.items())
        print(textwrap.fill(
            f"{desc} [{keys}" + (f"; peers: {spell.get(peer_key, peer_key)}]" if peer_key else "]"),
            width=100,
            initial_indent=f"  {name}: ",
            subsequent_indent="      ",
        ))
    info = []
    for col, head in columns:
        if col in SWIFT_COLUMNS or col not in data:
            continue
        obj = data[col]
        extra = f", gc {obj['gc']}" if obj.get("gc") else ""
        info.append(f"{head}: n = {obj.get('n', '?'):,}{extra}" if isinstance(obj.get("n"), int) else f"{head}{extra}")
    if swift and isinstance(swift.get("n"), int):
        info.insert(0, f"Swift: n = {swift['n']:,}")
    if info:
        print(textwrap.fill("; ".join(info), width=100, initial_indent="  ", subsequent_indent="  "))
    for col in ("python", "java", "java_serialgc", "node"):
        if col in errors:
            print(f"  {col}: ERROR: {errors[col]}")

    ratios = (swift or {}).get("ratios")
    if ratios:
        print()
        print("== Swift ratios (finalize-bench's `ratios`)")
        for key, value in _flatten(ratios):
            v = f"{value:.3f}" if _num(value) is not None else json.dumps(value)
            print(f"  {key:<50} {v}")


def _flatten(obj, prefix=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _flatten(v, f"{prefix}.{k}" if prefix else str(k))
    else:
        yield prefix or "ratios", obj


# --------------------------------------------------------------------- main


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=None, help="operations per run (default 1000000; --quick: 100000)")
    ap.add_argument("--runs", type=int, default=None, help="runs per peer workload; median reported (default 3; --quick: 1)")
    ap.add_argument(
        "--idle-seconds",
        type=float,
        default=None,
        help="length of each idle_cpu window (peers' default 5; --quick: 1); passed to finalize-bench "
        "too when given (or with --quick), if it takes the flag",
    )
    ap.add_argument("--quick", action="store_true", help="smoke run: n = 100000, runs = 1, idle windows of 1 s")
    for peer in ("python", "java", "node"):
        ap.add_argument(
            f"--n-{peer}",
            type=int,
            default=None,
            metavar="N",
            help=f"n for {peer} only (default: --n)" + (" (java and java_serialgc)" if peer == "java" else ""),
        )
    ap.add_argument("--skip-swift", action="store_true", help="do not build/run the Swift benchmark")
    ap.add_argument("--swift-json", metavar="FILE", help="with --skip-swift: read Swift results from FILE")
    ap.add_argument(
        "--only",
        metavar="LIST",
        help="comma-separated subset of peers: python,java,java_serialgc,node (java = the default collector only)",
    )
    ap.add_argument("--java-xmx", default="4g", help="java -Xmx value (default 4g)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds allowed per benchmark program (default 900)")
    ap.add_argument("--build-timeout", type=float, default=1800, help="seconds allowed per build step (default 1800)")
    ap.add_argument("--save", metavar="FILE", help="also write all collected JSON (and errors) to FILE")
    ap.add_argument("--no-notes", action="store_true", help="do not print the per-runtime notes")
    args = ap.parse_args(argv)
    args.swift_idle_seconds = args.idle_seconds if (args.idle_seconds is not None or args.quick) else None
    if args.quick:
        args.n = 100_000 if args.n is None else args.n
        args.runs = 1 if args.runs is None else args.runs
        args.idle_seconds = 1.0 if args.idle_seconds is None else args.idle_seconds
        args.swift_idle_seconds = args.idle_seconds
    args.n = 1_000_000 if args.n is None else args.n
    args.runs = 3 if args.runs is None else args.runs
    args.idle_seconds = 5.0 if args.idle_seconds is None else args.idle_seconds
    if args.n <= 0 or args.runs <= 0:
        ap.error("--n and --runs must be positive")
    if args.idle_seconds <= 0:
        ap.error("--idle-seconds must be positive")
    if any(v is not None and v <= 0 for v in (args.n_python, args.n_java, args.n_node)):
        ap.error("--n-python, --n-java and --n-node must be positive")
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

    if getattr(args, "java_tmp", None) is not None:
        args.java_tmp.cleanup()

    report(args, data, errors)

    if args.save:
        with open(args.save, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "n": args.n,
                    "n_per_runtime": {p: peer_n(args, p) for p in args.peers},
                    "runs": args.runs,
                    "idle_seconds": args.idle_seconds,
                    "data": data,
                    "errors": errors,
                },
                fh,
                indent=2,
            )
            fh.write("\n")
        log(f"wrote {args.save}")

    return 1 if errors else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stderr.close()
        sys.exit(1)
