/// Workloads of the scoped side (CleanupStack); filled in with issue 3.
enum ScopedWorkloads {
    static var all: [Workload] { [] }
}
