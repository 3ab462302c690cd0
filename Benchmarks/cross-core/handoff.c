// How long one cache line takes to move from one processor to another, now.
//
//     cc -O2 -pthread Benchmarks/cross-core/handoff.c -o /tmp/handoff
//     /tmp/handoff                 # processors 0 and 1
//     /tmp/handoff 0 1 10          # the same, ten measurements
//
// Two threads, pinned to two processors, pass a token back and forth through
// one atomic word: each waits for the other's value, then writes its own.
// Each measurement is 1,000,000 round trips; it prints the time of one
// one-way hand-off. Docs/Performance.md uses it to show why two threads that
// both write one line per operation (as every registration writes the
// registration counter) scale on this machine in some seconds and not in
// others: on a VM, the hypervisor can move the two virtual processors
// between cores that share a cache and cores that do not.
// Linux only (thread affinity).

#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static _Alignas(128) _Atomic long token;
static const long round_trips = 1000000;
static int other_processor;

static void pin(int processor) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(processor, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) {
        fprintf(stderr, "handoff: cannot run on processor %d\n", processor);
        exit(1);
    }
}

static void *answer(void *unused) {
    (void)unused;
    pin(other_processor);
    for (long i = 0; i < round_trips; i++) {
        while (atomic_load_explicit(&token, memory_order_acquire) != 2 * i + 1) {}
        atomic_store_explicit(&token, 2 * i + 2, memory_order_release);
    }
    return NULL;
}

int main(int argc, char **argv) {
    int first = argc > 1 ? atoi(argv[1]) : 0;
    other_processor = argc > 2 ? atoi(argv[2]) : 1;
    int measurements = argc > 3 ? atoi(argv[3]) : 3;
    if (first == other_processor) {
        fprintf(stderr, "handoff: give two different processors (both threads spin)\n");
        return 1;
    }
    pin(first);
    for (int m = 0; m < measurements; m++) {
        atomic_store(&token, 0);
        pthread_t thread;
        struct timespec start, end;
        if (pthread_create(&thread, NULL, answer, NULL) != 0) {
            fprintf(stderr, "handoff: pthread_create failed\n");
            return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (long i = 0; i < round_trips; i++) {
            while (atomic_load_explicit(&token, memory_order_acquire) != 2 * i) {}
            atomic_store_explicit(&token, 2 * i + 1, memory_order_release);
        }
        pthread_join(thread, NULL);
        clock_gettime(CLOCK_MONOTONIC, &end);
        double ns = (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);
        printf("one-way hand-off between processors %d and %d: %.1f ns\n", first, other_processor,
               ns / (2.0 * round_trips));
    }
    return 0;
}
