import Finalize
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

final class Floor { let onDeinit: () -> Void; init(_ f: @escaping () -> Void) { onDeinit = f }; deinit { onDeinit() } }
final class Host: FinalizerHost { let finalizers = FinalizerBag() }
final class Plain {}
let counter = Atomic<Int>(0)
@inline(never) func makeFloor() -> Floor { Floor { counter.wrappingAdd(1, ordering: .relaxed) } }
@inline(never) func makeHost() -> Host { Host() }
func now() -> UInt64 { var t = timespec(); clock_gettime(CLOCK_MONOTONIC, &t); return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec) }
let n = Int(getenv("N").map { String(cString: $0) } ?? "1000000")!
let mode = CommandLine.arguments.dropFirst().first ?? "all"
for _ in 0..<3 {
  var t0 = now()
  if mode == "all" || mode == "floor" {
  for _ in 0..<n { let o = makeFloor(); _ = o }
  print("floor", Double(now() - t0) / Double(n))
  }
  let reg = FinalizerRegistry(sweepInterval: nil)
  if mode == "all" || mode == "host" {
  t0 = now()
  for _ in 0..<n { let o = makeHost(); reg.finalize(o) { counter.wrappingAdd(1, ordering: .relaxed) } }
  print("host", Double(now() - t0) / Double(n))
  }
}
print(counter.load(ordering: .relaxed))
