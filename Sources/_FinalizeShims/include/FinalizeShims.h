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

#if defined(__linux__)
// glibc and musl export it; the header declares it only under _GNU_SOURCE.
// Used to pick a registry shard near the calling thread.
extern int sched_getcpu(void);
#endif

#endif
