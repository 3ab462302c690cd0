// finalize-bench: measures Finalize against a hand-written floor.
//
//     swift run -c release finalize-bench            # table
//     swift run -c release finalize-bench --json     # one JSON object
//     swift run -c release finalize-bench --n 200000 --runs 5 --only floor,host_register_release
//
// Every workload runs `--runs` times (interleaved, so drift hits all of them
// alike) and reports the median. See Docs/Performance.md for the figures and
// Benchmarks/peers/ for the same workloads in Python, Java and Node.

import _FinalizeBenchSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct Options {
    var n = 1_000_000
    var runs = 3
    var json = false
    var only: Set<String>? = nil
    var pin = true

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--json": options.json = true
            case "--no-pin": options.pin = false
            case "--n":
                guard let value = Int(iterator.next() ?? "") else { usage("--n takes a whole number") }
                options.n = value
            case "--runs":
                guard let value = Int(iterator.next() ?? "") else { usage("--runs takes a whole number") }
                options.runs = value
            case "--only": options.only = Set((iterator.next() ?? "").split(separator: ",").map(String.init))
            case "--help", "-h": usage(nil)
            default: usage("unknown argument \(argument)")
            }
        }
        if options.n < 1 || options.runs < 1 { usage("--n and --runs must be at least 1") }
        return options
    }
}

func usage(_ problem: String?) -> Never {
    if let problem { print("finalize-bench: \(problem)") }
    print("usage: finalize-bench [--json] [--n N] [--runs R] [--only name,name,...] [--no-pin]")
    exit(problem == nil ? 0 : 2)
}

/// A workload: its name, unit, and what it is checked against.
struct Workload {
    let name: String
    let unit: String
    let target: String
    let run: (Int) -> Double
}

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
let n = options.n
// Single-threaded workloads run on one processor, not migrated mid-run
// (--no-pin to let the scheduler move them); see finalize_bench_pin_thread.
finalize_bench_save_affinity()
if options.pin { _ = finalize_bench_pin_thread(finalize_bench_current_cpu()) }

let workloads: [Workload] = [
    Workload(name: "floor", unit: "ns/op", target: "reference: deinit calling a stored closure") { Workloads.floor($0) },
    Workload(name: "floor_three_objects", unit: "ns/op", target: "reference: the floor plus a bag and a handle") {
        Workloads.floorThreeObjects($0)
    },
    Workload(name: "host_register_release", unit: "ns/op", target: "<= 2.5x floor") { Workloads.hostRegisterRelease($0) },
    Workload(name: "floor_capturing", unit: "ns/op", target: "reference: the floor, cleanup captures a value") {
        Workloads.floorCapturing($0)
    },
    Workload(name: "host_register_release_capturing", unit: "ns/op", target: "<= 2.5x floor_capturing") {
        Workloads.hostRegisterReleaseCapturing($0)
    },
    Workload(name: "watched_register_release_sweep", unit: "ns/op", target: "<= 5x floor") {
        Workloads.watchedRegisterReleaseSweep($0)
    },
    Workload(name: "register_detach", unit: "ns/op", target: "faster than every peer") { Workloads.registerDetach($0) },
    Workload(name: "host_register_detach", unit: "ns/op", target: "") { Workloads.hostRegisterDetach($0) },
    Workload(name: "run_now", unit: "ns/op", target: "faster than every peer") { Workloads.runNow($0) },
    Workload(name: "shutdown", unit: "ns/op", target: "") { Workloads.shutdown($0) },
    Workload(name: "sweep_live", unit: "ms", target: "< 20 ms at N = 1,000,000") { Workloads.sweepLive($0) },
    Workload(name: "sweep_live_quarter", unit: "ms", target: "about 1/4 of sweep_live") { Workloads.sweepLive($0 / 4) },
    Workload(name: "memory_host", unit: "B/registration", target: "<= 96") {
        Workloads.memoryPerRegistration($0, host: true)
    },
    Workload(name: "memory_watched", unit: "B/registration", target: "") {
        Workloads.memoryPerRegistration($0, host: false)
    },
    Workload(name: "threads1_host_register_release", unit: "ns/op", target: "") {
        Workloads.threadedHostRegisterRelease($0, threads: 1)
    },
    Workload(name: "threads2_host_register_release", unit: "ns/op", target: "throughput >= 1.4x threads1") {
        Workloads.threadedHostRegisterRelease($0, threads: 2)
    },
] + ScopedWorkloads.all

let selected = workloads.filter { options.only?.contains($0.name) ?? true }
let runs: [String: [Double]] = {
    var runs: [String: [Double]] = [:]
    for _ in 0..<options.runs {
        for workload in selected {
            runs[workload.name, default: []].append(workload.run(n))
        }
    }
    return runs
}()

/// The verdicts the targets ask for, where the figures are in this run.
func verdicts(_ runs: [String: [Double]], n: Int) -> [(String, Bool)] {
    func medianOf(_ name: String) -> Double? { runs[name].map(finalize_bench.medianOf) }
    var result: [(String, Bool)] = []
    if let floor = medianOf("floor") {
        if let host = medianOf("host_register_release") {
            result.append(("host register + release <= 2.5x floor", host <= 2.5 * floor))
        }
        if let watched = medianOf("watched_register_release_sweep") {
            result.append(("watched register + release + sweep <= 5x floor", watched <= 5 * floor))
        }
    }
    if let capturingFloor = medianOf("floor_capturing"),
        let capturing = medianOf("host_register_release_capturing")
    {
        result.append((
            "host register + release <= 2.5x floor, both with a capturing cleanup",
            capturing <= 2.5 * capturingFloor
        ))
    }
    if let memory = medianOf("memory_host") {
        result.append(("memory per host registration <= 96 B", memory <= 96))
    }
    if let sweep = medianOf("sweep_live"), n >= 1_000_000 {
        result.append(("sweep over \(n) live watched entries < 20 ms", sweep < 20))
    }
    if let one = medianOf("threads1_host_register_release"), let two = medianOf("threads2_host_register_release") {
        result.append(("2 threads >= 1.4x the throughput of 1", one / two >= 1.4))
    }
    if let plain = medianOf("scoped_plain_defer"), let stack = medianOf("scoped_stack_defer_close") {
        result.append(("CleanupStack defer + close <= 3x a plain defer", stack <= 3 * plain))
    }
    return result
}

if options.json {
    var fields: [String] = []
    for workload in selected {
        let values = runs[workload.name] ?? []
        let list = values.map { String($0) }.joined(separator: ",")
        fields.append("\"\(workload.name)\":{\"median_ns_per_op\":\(medianOf(values)),\"unit\":\"\(workload.unit)\",\"runs_ns_per_op\":[\(list)]}")
    }
    var memory: [String] = []
    if let host = runs["memory_host"] { memory.append("\"host\":\(medianOf(host))") }
    if let watched = runs["memory_watched"] { memory.append("\"watched\":\(medianOf(watched))") }
    let checks = verdicts(runs, n: n).map { "{\"check\":\"\($0.0)\",\"met\":\($0.1)}" }.joined(separator: ",")
    print("{\"runtime\":\"swift\",\"n\":\(n),\"runs\":\(options.runs),\"results\":{\(fields.joined(separator: ","))},\"memory_bytes_per_registration\":{\(memory.joined(separator: ","))},\"targets\":[\(checks)]}")
} else {
    let floor = runs["floor"].map(medianOf)
    let plainDefer = runs["scoped_plain_defer"].map(medianOf)
    print("finalize-bench: N = \(n), median of \(options.runs) run(s), release build: \(isReleaseBuild)")
    print("")
    let header = ["workload", "median", "unit", "ratio", "target"]
    var rows: [[String]] = [header]
    for workload in selected {
        let value = medianOf(runs[workload.name] ?? [0])
        // Scoped workloads compare with a plain `defer`, the others with the floor.
        let isScoped = workload.name.hasPrefix("scoped_")
        let reference = isScoped ? plainDefer : floor
        let ratio =
            workload.unit == "ns/op"
            ? reference.map { String(format2(value / $0)) + (isScoped ? "x defer" : "x floor") } ?? "" : ""
        rows.append([workload.name, format2(value), workload.unit, ratio, workload.target])
    }
    let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
    for row in rows {
        print(row.indices.map { row[$0].padding(toLength: widths[$0] + 2) }.joined())
    }
    let checks = verdicts(runs, n: n)
    if !checks.isEmpty {
        print("")
        for (check, met) in checks { print("\(met ? "met    " : "NOT MET") \(check)") }
    }
}

func format2(_ value: Double) -> String {
    let scaled = (value * 100).rounded() / 100
    var text = String(scaled)
    if let dot = text.firstIndex(of: ".") {
        let decimals = text.distance(from: dot, to: text.endIndex) - 1
        if decimals == 1 { text += "0" }
    }
    return text
}

extension String {
    func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }
}

var isReleaseBuild: Bool {
    #if DEBUG
    return false
    #else
    return true
    #endif
}
