// A counting malloc: glibc's allocator underneath, plus one process-wide count of the bytes it hands out, so that
// `used_memory` is exact and costs one load to read, as Redis's zmalloc counter is (Redis wraps every allocation
// the same way, with the allocator's usable size). docs/MEMORY.md has the measurements behind the choice: glibc's
// mallinfo2() walks the arena's bins (it is far too slow to call before every write), and jemalloc's
// stats.allocated needs an epoch refresh per read.
//
// glibc supports replacing malloc: the executable defines the whole family (malloc, free, calloc, realloc,
// reallocarray, posix_memalign, aligned_alloc, memalign, valloc, pvalloc), the dynamic linker binds libc's own
// calls and every shared library's to these definitions, and each one calls glibc's implementation through its
// exported __libc_* entry point, so every block is still a glibc chunk and malloc_usable_size() reads its size.
//
// Under a sanitizer (swift test --sanitize=thread) the sanitizer's runtime owns malloc: nothing is replaced, and
// swiftlet_used_memory() falls back to mallinfo2().
#define _GNU_SOURCE
#include "CSwiftletAllocator.h"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define SWIFTLET_NO_COUNTING 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SWIFTLET_NO_COUNTING 1
#endif

void swiftlet_allocator_link(void) {}

#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#endif

#if defined(__GLIBC__) && !defined(SWIFTLET_NO_COUNTING)
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

// Shared with CSwiftletSupport (support.c), which reads them.
extern _Atomic size_t swiftlet_counted_bytes;
extern _Atomic int swiftlet_counting_allocator;

extern void *__libc_malloc(size_t size);
extern void __libc_free(void *pointer);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

#define COUNT_UP(p) \
    if (p) atomic_fetch_add_explicit(&swiftlet_counted_bytes, malloc_usable_size(p), memory_order_relaxed)
#define COUNT_DOWN(n) atomic_fetch_sub_explicit(&swiftlet_counted_bytes, (n), memory_order_relaxed)

__attribute__((constructor(101))) static void swiftlet_allocator_start(void) {
    atomic_store_explicit(&swiftlet_counting_allocator, 1, memory_order_relaxed);
}

void *malloc(size_t size) {
    void *p = __libc_malloc(size);
    COUNT_UP(p);
    return p;
}

void free(void *pointer) {
    if (pointer == NULL) return;
    COUNT_DOWN(malloc_usable_size(pointer));
    __libc_free(pointer);
}

void *calloc(size_t count, size_t size) {
    void *p = __libc_calloc(count, size);
    COUNT_UP(p);
    return p;
}

void *realloc(void *pointer, size_t size) {
    size_t before = pointer ? malloc_usable_size(pointer) : 0;
    void *p = __libc_realloc(pointer, size);
    if (p) {
        size_t after = malloc_usable_size(p);
        if (after >= before) {
            atomic_fetch_add_explicit(&swiftlet_counted_bytes, after - before, memory_order_relaxed);
        } else {
            COUNT_DOWN(before - after);
        }
    } else if (pointer != NULL && size == 0) {
        COUNT_DOWN(before);  // realloc(p, 0) freed p
    }
    return p;
}

void *reallocarray(void *pointer, size_t count, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(pointer, total);
}

void *memalign(size_t alignment, size_t size) {
    void *p = __libc_memalign(alignment, size);
    COUNT_UP(p);
    return p;
}

void *aligned_alloc(size_t alignment, size_t size) {
    return memalign(alignment, size);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0) return EINVAL;
    void *p = __libc_memalign(alignment, size);
    if (p == NULL) return ENOMEM;
    COUNT_UP(p);
    *result = p;
    return 0;
}

void *valloc(size_t size) {
    void *p = __libc_valloc(size);
    COUNT_UP(p);
    return p;
}

void *pvalloc(size_t size) {
    void *p = __libc_pvalloc(size);
    COUNT_UP(p);
    return p;
}
#endif
