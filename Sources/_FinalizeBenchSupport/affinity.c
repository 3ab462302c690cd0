#define _GNU_SOURCE
#include "FinalizeBenchSupport.h"

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>

// The processors the process may use, as it started (before any pinning).
static cpu_set_t allowed;
static int allowed_saved;

void finalize_bench_save_affinity(void) {
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) allowed_saved = 1;
}

int finalize_bench_allowed_cpu_count(void) {
    return allowed_saved ? CPU_COUNT(&allowed) : 0;
}

// The index-th allowed processor (counting from 0, wrapping around), or -1.
static int nth_allowed(int index) {
    int count = finalize_bench_allowed_cpu_count();
    if (count == 0) return -1;
    index %= count;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &allowed) && index-- == 0) return cpu;
    }
    return -1;
}

int finalize_bench_pin_thread(int cpu) {
    if (!allowed_saved) return -1;
    if (cpu < 0) return sched_setaffinity(0, sizeof allowed, &allowed);
    if (!CPU_ISSET(cpu, &allowed)) return -1;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

int finalize_bench_pin_worker(int index) {
    int cpu = nth_allowed(index);
    if (cpu >= 0 && finalize_bench_pin_thread(cpu) == 0) return 0;
    finalize_bench_pin_thread(-1);  // at least undo the main thread's pin, inherited
    return -1;
}

int finalize_bench_current_cpu(void) { return sched_getcpu(); }
#else
void finalize_bench_save_affinity(void) {}
int finalize_bench_allowed_cpu_count(void) { return 0; }
int finalize_bench_pin_thread(int cpu) { (void)cpu; return -1; }
int finalize_bench_pin_worker(int index) { (void)index; return -1; }
int finalize_bench_current_cpu(void) { return -1; }
#endif

static __thread long finalize_bench_thread_cleanups;

void finalize_bench_thread_bump(void) { finalize_bench_thread_cleanups++; }

long finalize_bench_thread_count(void) { return finalize_bench_thread_cleanups; }
