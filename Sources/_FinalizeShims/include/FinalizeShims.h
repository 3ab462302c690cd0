#ifndef FINALIZE_SHIMS_H
#define FINALIZE_SHIMS_H

#include <stdbool.h>

// Stable, exported entry points of the Swift runtime (libswiftCore), declared
// here so Finalize can hold an owner by an *unowned* count: the object's memory
// stays valid while Finalize may look at it, but the object itself is not kept
// alive and its deinit runs on time.
//
// - swift_unownedRetain / swift_unownedRelease: count an unowned reference.
// - swift_isDeallocating: true once the last strong reference is gone.
// - swift_tryRetain: retain only if the object is not deallocating; returns
//   the object on success and NULL once it is deallocating.
// - swift_release: balance a successful swift_tryRetain.

extern void *_Nullable swift_unownedRetain(void *_Nonnull object);
extern void swift_unownedRelease(void *_Nonnull object);
extern bool swift_isDeallocating(void *_Nonnull object);
extern void *_Nullable swift_tryRetain(void *_Nonnull object);
extern void swift_release(void *_Nullable object);

// The calling convention of a Swift closure of type `() throws -> Void`: a
// thick function value is two words, the entry point and a context object
// (NULL when the closure captures nothing); the entry point takes the
// context in the `swiftself` register and reports a thrown error in the
// `swifterror` register (Swift's ABI: docs/ABI/CallingConvention.rst; the
// Swift runtime declares its own Swift-convention entry points this way).
//
// `_finalize_call_cleanup` calls such a closure given its two words and
// returns the error it threw (+1, release with swift_errorRelease after
// taking it over) or NULL. It exists so that a cleanup stack can run a
// closure it owns without the retain and release that Swift emits around
// every call through a stored closure; Finalize's CleanupStack owns the
// context reference and releases it itself.
typedef void (*_finalize_cleanup_entry)(
    void *_Nullable __attribute__((swift_context)) context,
    void *_Nullable *_Nonnull __attribute__((swift_error_result)) error) __attribute__((swiftcall));

static inline __attribute__((always_inline)) void *_Nullable
_finalize_call_cleanup(const void *_Nonnull function, void *_Nullable context) {
    void *error = 0;
    ((_finalize_cleanup_entry)function)(context, &error);
    return error;
}

// The same for a closure of type `() -> Void`, which has no error register.
typedef void (*_finalize_plain_cleanup_entry)(
    void *_Nullable __attribute__((swift_context)) context) __attribute__((swiftcall));

static inline __attribute__((always_inline)) void
_finalize_call_plain_cleanup(const void *_Nonnull function, void *_Nullable context) {
    ((_finalize_plain_cleanup_entry)function)(context);
}

// Releases an error box that `_finalize_call_cleanup` returned.
extern void swift_errorRelease(void *_Nullable error);

// Asks the processor to start loading the cache line at `address` (a hint:
// no effect on the program's meaning). A sweep uses it on owners a few
// entries ahead of the one it tests, so their headers arrive in time.
static inline __attribute__((always_inline)) void
_finalize_prefetch(const void *_Nullable address) {
    __builtin_prefetch(address);
}

#if defined(__linux__)
// glibc and musl export it; the header declares it only under _GNU_SOURCE.
// Used to pick a registry shard near the calling thread.
extern int sched_getcpu(void);
#endif

#endif
