// The runtime functions of include/FinalizeShims.h are declarations only;
// this file defines the one helper of Finalize's own.

#include "FinalizeShims.h"

#include <stdatomic.h>

static _Atomic unsigned next_thread_number;
// The thread's number plus one; 0 until the thread first asks.
static _Thread_local unsigned thread_number_plus_one;

unsigned _finalize_thread_number(void) {
    unsigned plus_one = thread_number_plus_one;
    if (plus_one == 0) {
        plus_one = atomic_fetch_add_explicit(&next_thread_number, 1, memory_order_relaxed) + 1;
        // After 2^32 threads the numbers wrap; 0 stays "not yet given".
        if (plus_one == 0) plus_one = 1;
        thread_number_plus_one = plus_one;
    }
    // 31 bits, so that the number fits a 32-bit `Int` (arm64_32).
    return (plus_one - 1) & 0x7fffffffu;
}
