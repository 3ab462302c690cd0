#include "FinalizeBenchSupport.h"

#include <sys/resource.h>
#include <sys/time.h>

unsigned long long finalize_bench_process_cpu_ns(void) {
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
    unsigned long long user = (unsigned long long)usage.ru_utime.tv_sec * 1000000000ULL
        + (unsigned long long)usage.ru_utime.tv_usec * 1000ULL;
    unsigned long long system = (unsigned long long)usage.ru_stime.tv_sec * 1000000000ULL
        + (unsigned long long)usage.ru_stime.tv_usec * 1000ULL;
    return user + system;
}
