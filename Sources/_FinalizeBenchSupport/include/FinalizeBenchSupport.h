#ifndef FINALIZE_BENCH_SUPPORT_H
#define FINALIZE_BENCH_SUPPORT_H

#include <stddef.h>

/// Bytes the C heap has handed out and not yet taken back (glibc's
/// mallinfo2().uordblks), or 0 where that is not available. The benchmark
/// measures memory per registration as the difference of two readings.
size_t finalize_bench_heap_in_use(void);

/// Remembers the processors the process may run on; call it once, before
/// any of the pinning functions below.
void finalize_bench_save_affinity(void);

/// How many processors the process may run on (0 if unknown).
int finalize_bench_allowed_cpu_count(void);

/// Restricts the calling thread to processor `cpu`, if the process may use
/// it, or, for a negative `cpu`, gives it back every processor the process
/// may use. Returns 0 on success, -1 otherwise (the affinity is unchanged).
/// The benchmark pins its main thread so that a single-threaded workload is
/// not migrated between processors while it is timed (on a small VM that
/// alone moved figures by half).
int finalize_bench_pin_thread(int cpu);

/// Pins the calling worker thread to the index-th processor the process may
/// use (wrapping around), so the threads of a multi-threaded workload do
/// not end up stacked on one processor. If that fails, the thread gets back
/// every allowed processor (undoing the main thread's pin, which new threads
/// inherit) and -1 is returned.
int finalize_bench_pin_worker(int index);

/// The processor the calling thread is running on, or -1.
int finalize_bench_current_cpu(void);

/// Counts one cleanup in a counter of the calling thread's own: the
/// multi-threaded workloads use it so that their threads do not contend
/// for one counter's cache line (which would measure the counter, not the
/// registry). `finalize_bench_thread_count` reads the calling thread's count.
void finalize_bench_thread_bump(void);
long finalize_bench_thread_count(void);

/// CPU time the whole process (every thread) has used so far, user plus
/// system, in nanoseconds (getrusage RUSAGE_SELF; microsecond resolution),
/// or 0 if it cannot be read. `idle_sweeper_cpu` takes the difference of
/// two readings around an idle window.
unsigned long long finalize_bench_process_cpu_ns(void);

#endif
