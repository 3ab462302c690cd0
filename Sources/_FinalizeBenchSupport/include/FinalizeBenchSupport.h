#ifndef FINALIZE_BENCH_SUPPORT_H
#define FINALIZE_BENCH_SUPPORT_H

#include <stddef.h>

/// Bytes the C heap has handed out and not yet taken back (glibc's
/// mallinfo2().uordblks), or 0 where that is not available. The benchmark
/// measures memory per registration as the difference of two readings.
size_t finalize_bench_heap_in_use(void);

#endif
