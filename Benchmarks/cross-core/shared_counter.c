// What one shared atomic per operation costs two threads on this machine.
//
//     cc -O2 -pthread Benchmarks/cross-core/shared_counter.c -o /tmp/shared_counter
//     /tmp/shared_counter          # malloc/free only: the threads share nothing
//     /tmp/shared_counter shared   # plus one atomic add on one shared counter
//
// Prints, three times, ns per operation on one thread and wall-clock ns per
// operation on two, and the speedup. Docs/Performance.md uses it to explain
// why Finalize's two-thread figure depends on the machine: every
// registration adds one to its registry's registration counter.

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const long iterations = 20000000;
static _Atomic long shared_counter;
static int use_shared;

static void *work(void *unused) {
    (void)unused;
    volatile long sink = 0;
    for (long i = 0; i < iterations; i++) {
        void *block = malloc(96);
        sink += (long)block;
        free(block);
        if (use_shared) atomic_fetch_add_explicit(&shared_counter, 1, memory_order_relaxed);
    }
    return NULL;
}

static double run(int threads) {
    struct timespec start, end;
    pthread_t handles[2];
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < threads; i++) pthread_create(&handles[i], NULL, work, NULL);
    for (int i = 0; i < threads; i++) pthread_join(handles[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &end);
    double ns = (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);
    return ns / (double)(iterations * threads);
}

int main(int argc, char **argv) {
    (void)argv;
    use_shared = argc > 1;
    for (int round = 0; round < 3; round++) {
        double one = run(1), two = run(2);
        printf("shared counter: %s  1 thread %.2f ns/op  2 threads %.2f ns/op (wall)  speedup %.2fx\n",
               use_shared ? "yes" : "no ", one, two, one / two);
    }
    return 0;
}
