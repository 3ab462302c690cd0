#define _GNU_SOURCE
#include "FinalizeBenchSupport.h"

#if defined(__linux__)
#include <sched.h>
#include <unistd.h>

int finalize_bench_pin_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (cpu >= 0) {
        CPU_SET(cpu, &set);
    } else {
        long count = sysconf(_SC_NPROCESSORS_ONLN);
        for (long index = 0; index < count && index < CPU_SETSIZE; index++) CPU_SET((int)index, &set);
    }
    return sched_setaffinity(0, sizeof set, &set);
}

int finalize_bench_current_cpu(void) { return sched_getcpu(); }
#else
int finalize_bench_pin_thread(int cpu) { (void)cpu; return -1; }
int finalize_bench_current_cpu(void) { return -1; }
#endif

static __thread long finalize_bench_thread_cleanups;

void finalize_bench_thread_bump(void) { finalize_bench_thread_cleanups++; }

long finalize_bench_thread_count(void) { return finalize_bench_thread_cleanups; }
