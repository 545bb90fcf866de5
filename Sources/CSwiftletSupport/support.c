#define _GNU_SOURCE  // glibc's POSIX_SPAWN_SETSID
#include "CSwiftletSupport.h"
// <malloc.h> first: it brings <features.h>, which defines __GLIBC__ for the checks below.
#if defined(__linux__)
#include <malloc.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdatomic.h>
#include <unistd.h>

// Written by the counting allocator (CSwiftletAllocator) when the executable links it; see swiftlet_used_memory().
_Atomic size_t swiftlet_counted_bytes = 0;
_Atomic int swiftlet_counting_allocator = 0;

int swiftlet_allocator_counts(void) {
    return atomic_load_explicit(&swiftlet_counting_allocator, memory_order_relaxed);
}

size_t swiftlet_used_memory(void) {
    if (atomic_load_explicit(&swiftlet_counting_allocator, memory_order_relaxed)) {
        return atomic_load_explicit(&swiftlet_counted_bytes, memory_order_relaxed);
    }
    return swiftlet_malloc_allocated();
}

size_t swiftlet_malloc_allocated(void) {
#if defined(__GLIBC__)
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
#else
    return 0;
#endif
}

size_t swiftlet_malloc_active(void) {
#if defined(__GLIBC__)
    struct mallinfo2 info = mallinfo2();
    return info.arena + info.hblkhd;
#else
    return 0;
#endif
}

size_t swiftlet_resident_set_size(void) {
#if defined(__linux__)
    FILE *file = fopen("/proc/self/statm", "r");
    if (file == NULL) return 0;
    unsigned long size = 0, resident = 0;
    int fields = fscanf(file, "%lu %lu", &size, &resident);
    fclose(file);
    if (fields != 2) return 0;
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
#else
    return 0;
#endif
}

void swiftlet_malloc_trim(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

void swiftlet_malloc_configure(void) {
#if defined(__GLIBC__)
    // One arena: the server allocates on one event-loop thread anyway, and mallinfo2 then sees every byte
    // (it only reports the main arena).
    mallopt(M_ARENA_MAX, 1);
#endif
}

// The Swift runtime's process-wide switch for its dynamic exclusivity checks (exported by libswiftCore).
extern _Bool _swift_disableExclusivityChecking;

void swiftlet_disable_exclusivity_checking(void) {
    _swift_disableExclusivityChecking = 1;
}

extern char **environ;

int swiftlet_spawn_daemon(const char *path, char *const argv[]) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int status = posix_spawn_file_actions_init(&actions);
    if (status != 0) {
        errno = status;
        return -1;
    }
    for (int fd = 0; fd <= 2 && status == 0; fd++) {
        status = posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_RDWR, 0);
    }
    if (status == 0) status = posix_spawnattr_init(&attributes);
    pid_t pid = -1;
    if (status == 0) {
#if defined(POSIX_SPAWN_SETSID)
        status = posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
#endif
        if (status == 0) status = posix_spawn(&pid, path, &actions, &attributes, argv, environ);
        posix_spawnattr_destroy(&attributes);
    }
    posix_spawn_file_actions_destroy(&actions);
    if (status != 0) {
        errno = status;
        return -1;
    }
    return pid;
}
