#ifndef CSWIFTLET_SUPPORT_H
#define CSWIFTLET_SUPPORT_H
#include <stddef.h>

/// Bytes the process's allocations hold (Redis's `used_memory`): the counting allocator's exact count where the
/// executable links CSwiftletAllocator (one load), else glibc's mallinfo2() (a walk of the arena: slow).
size_t swiftlet_used_memory(void);
/// Whether the counting allocator is in place (1) or swiftlet_used_memory() falls back to mallinfo2 (0).
int swiftlet_allocator_counts(void);
/// Bytes currently handed out by malloc (glibc mallinfo2: uordblks + hblkhd).
size_t swiftlet_malloc_allocated(void);
/// Bytes malloc holds from the system (arena + hblkhd).
size_t swiftlet_malloc_active(void);
/// The process's resident set size in bytes (Linux: /proc/self/statm), 0 where unavailable (used_memory_rss).
size_t swiftlet_resident_set_size(void);
/// Returns free memory at the top of the heap to the system (MEMORY PURGE).
void swiftlet_malloc_trim(void);

/// Process-wide malloc settings for a server (one arena), called at start-up.
void swiftlet_malloc_configure(void);

/// Turns off the Swift runtime's dynamic exclusivity checks for the whole process.
void swiftlet_disable_exclusivity_checking(void);

/// Starts `path` with `argv` (NULL-terminated) and this process's environment as a daemon: in a new session, with
/// standard input, output and error on /dev/null. Returns the child's process id, or -1 with errno set.
int swiftlet_spawn_daemon(const char *path, char *const argv[]);

#endif
