#ifndef FINALIZE_BENCH_SUPPORT_H
#define FINALIZE_BENCH_SUPPORT_H

#include <stddef.h>

/// Bytes the C heap has handed out and not yet taken back (glibc's
/// mallinfo2().uordblks), or 0 where that is not available. The benchmark
/// measures memory per registration as the difference of two readings.
size_t finalize_bench_heap_in_use(void);

/// Restricts the calling thread to processor `cpu`, or, for a negative
/// `cpu`, lets it run on every online processor. Returns 0 on success.
/// The benchmark pins its main thread so that a single-threaded workload is
/// not migrated between processors while it is timed (on a small VM that
/// alone moved figures by half); the threads of the multi-threaded
/// workloads are let loose again.
int finalize_bench_pin_thread(int cpu);

/// The processor the calling thread is running on, or -1.
int finalize_bench_current_cpu(void);

/// Counts one cleanup in a counter of the calling thread's own: the
/// multi-threaded workloads use it so that their threads do not contend
/// for one counter's cache line (which would measure the counter, not the
/// registry). `finalize_bench_thread_count` reads the calling thread's count.
void finalize_bench_thread_bump(void);
long finalize_bench_thread_count(void);

#endif
