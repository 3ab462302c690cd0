#ifndef FINALIZE_SHIMS_H
#define FINALIZE_SHIMS_H

#include <stdbool.h>

// Stable, exported entry points of the Swift runtime (libswiftCore), declared
// here so Finalize can hold an owner by an *unowned* count: the object's memory
// stays valid while Finalize may look at it, but the object itself is not kept
// alive and its deinit runs on time. They are plain C functions of the runtime
// (the Swift compiler emits calls to them for `unowned` references); no Swift
// calling convention is involved.
//
// - swift_unownedRetain / swift_unownedRelease: count an unowned reference.
// - swift_isDeallocating: true once the last strong reference is gone.
// - swift_tryRetain: retain only if the object is not deallocating; returns
//   the object on success and NULL once it is deallocating.

extern void *_Nullable swift_unownedRetain(void *_Nonnull object);
extern void swift_unownedRelease(void *_Nonnull object);
extern bool swift_isDeallocating(void *_Nonnull object);
extern void *_Nullable swift_tryRetain(void *_Nonnull object);

// Asks the processor to start loading the cache line at `address` (a hint:
// no effect on the program's meaning). A sweep uses it on owners a few
// entries ahead of the one it tests, so their headers arrive in time; a
// registration uses it on the registration counter.
static inline __attribute__((always_inline)) void
_finalize_prefetch(const void *_Nullable address) {
    __builtin_prefetch(address);
}

// A small number given to the calling thread the first time it asks (0 for
// the first thread that asks, 1 for the next, and so on), the same for the
// thread's whole life. Registration uses it to pick a shard where the
// processor number is not available (Darwin has no `sched_getcpu`; on Linux,
// when `sched_getcpu` fails), so that threads registering at once still
// spread over the shards. Thread-safe; once assigned, one thread-local read
// (through the platform's thread-local access: `__tls_get_addr` in a
// position-independent ELF object). At most 2^31 - 1, then it wraps.
extern unsigned _finalize_thread_number(void);

#if defined(__linux__)
// glibc and musl export it; the header declares it only under _GNU_SOURCE.
// Used to pick a registry shard near the calling thread.
extern int sched_getcpu(void);
#endif

#endif
