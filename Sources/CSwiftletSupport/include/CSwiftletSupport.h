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

/// epoll for swiftlet-memcached's own transport (Linux; elsewhere each returns -1 with errno ENOSYS). The shims keep
/// `struct epoll_event` (packed on x86-64) out of Swift: a registration's data is its descriptor, and an event comes
/// back as the descriptor plus SWIFTLET_READABLE / SWIFTLET_WRITABLE (a hang-up or an error sets both, so that the
/// next read or write sees it).
#define SWIFTLET_READABLE 1
#define SWIFTLET_WRITABLE 2
int swiftlet_epoll_create(void);
/// op: 0 add, 1 modify, 2 delete; interest: SWIFTLET_READABLE and/or SWIFTLET_WRITABLE (level-triggered).
int swiftlet_epoll_control(int epoll, int op, int fd, int interest);
/// Waits up to `timeout` ms; fills `fds` and `events` (room for `capacity`) and returns the count (0 on EINTR).
int swiftlet_epoll_wait(int epoll, int *fds, int *events, int capacity, int timeout);
/// A non-blocking eventfd (the transport's wake-up), or -1.
int swiftlet_eventfd(void);
/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC; -1 with errno set.
int swiftlet_accept(int listener);
/// The socket's peer (`peer` 1) or local address as memcached's `stats conns` prints it: "tcp:127.0.0.1:11211",
/// "tcp6:[::1]:11211", "unix:/path" ("udp"/"udp6" with `udp` 1; empty on failure), NUL-terminated in `text` (`size`
/// bytes). Returns the port (0 for a Unix socket or a failure).
int swiftlet_socket_address(int fd, int peer, int udp, char *text, size_t size);
/// The same text for an address `recvfrom` filled in.
int swiftlet_address_text(const void *address, unsigned length, int udp, char *text, size_t size);
/// recvfrom: the datagram into `buffer`, its sender into `peer` (room for 128 bytes) and `peer_length`.
long swiftlet_udp_receive(int fd, void *buffer, size_t capacity, void *peer, unsigned *peer_length);
/// sendmsg of `header` (8 bytes) then `data` to `peer`.
long swiftlet_udp_send(int fd, const void *header, const void *data, size_t length, const void *peer,
                       unsigned peer_length);

#endif
