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
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <arpa/inet.h>

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

#if defined(__linux__)
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

int swiftlet_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int swiftlet_epoll_control(int epoll, int op, int fd, int interest) {
    struct epoll_event event = {0};
    event.events = ((interest & SWIFTLET_READABLE) ? EPOLLIN : 0) | ((interest & SWIFTLET_WRITABLE) ? EPOLLOUT : 0);
    event.data.u64 = (uint64_t)(uint32_t)fd;
    int ops[3] = {EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL};
    if (op < 0 || op > 2) { errno = EINVAL; return -1; }
    return epoll_ctl(epoll, ops[op], fd, &event);
}

int swiftlet_epoll_wait(int epoll, int *fds, int *events, int capacity, int timeout) {
    struct epoll_event ready[256];
    if (capacity > 256) capacity = 256;
    int n = epoll_wait(epoll, ready, capacity, timeout);
    if (n < 0) return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++) {
        uint32_t e = ready[i].events;
        int flags = 0;
        if (e & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) flags |= SWIFTLET_READABLE;
        if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) flags |= SWIFTLET_WRITABLE;
        fds[i] = (int)ready[i].data.u64;
        events[i] = flags;
    }
    return n;
}

int swiftlet_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int swiftlet_accept(int listener) { return accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }
#else
int swiftlet_epoll_create(void) { errno = ENOSYS; return -1; }
int swiftlet_epoll_control(int epoll, int op, int fd, int interest) { errno = ENOSYS; return -1; }
int swiftlet_epoll_wait(int epoll, int *fds, int *events, int capacity, int timeout) { errno = ENOSYS; return -1; }
int swiftlet_eventfd(void) { errno = ENOSYS; return -1; }
int swiftlet_accept(int listener) { errno = ENOSYS; return -1; }
#endif

int swiftlet_address_text(const void *address, unsigned length, int udp, char *text, size_t size) {
    const struct sockaddr *any = (const struct sockaddr *)address;
    char ip[INET6_ADDRSTRLEN];
    if (size == 0) return 0;
    text[0] = 0;
    if (length < sizeof(sa_family_t)) return 0;
    if (any->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)address;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        snprintf(text, size, "%s:%s:%u", udp ? "udp" : "tcp", ip, (unsigned)ntohs(a->sin_port));
        return ntohs(a->sin_port);
    }
    if (any->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)address;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
        snprintf(text, size, "%s:[%s]:%u", udp ? "udp6" : "tcp6", ip, (unsigned)ntohs(a->sin6_port));
        return ntohs(a->sin6_port);
    }
    if (any->sa_family == AF_UNIX) {
        const struct sockaddr_un *a = (const struct sockaddr_un *)address;
        size_t n = length > offsetof(struct sockaddr_un, sun_path) ? length - offsetof(struct sockaddr_un, sun_path) : 0;
        if (n > sizeof(a->sun_path)) n = sizeof(a->sun_path);
        snprintf(text, size, "unix:%.*s", (int)strnlen(a->sun_path, n), a->sun_path);
    }
    return 0;
}

int swiftlet_socket_address(int fd, int peer, int udp, char *text, size_t size) {
    struct sockaddr_storage storage;
    socklen_t length = sizeof(storage);
    if (size == 0) return 0;
    text[0] = 0;
    memset(&storage, 0, sizeof(storage));
    if ((peer ? getpeername(fd, (struct sockaddr *)&storage, &length) : getsockname(fd, (struct sockaddr *)&storage, &length)) != 0)
        return 0;
    return swiftlet_address_text(&storage, length, udp, text, size);
}

long swiftlet_udp_receive(int fd, void *buffer, size_t capacity, void *peer, unsigned *peer_length) {
    socklen_t length = 128;
    long n = recvfrom(fd, buffer, capacity, 0, (struct sockaddr *)peer, &length);
    *peer_length = (unsigned)length;
    return n;
}

long swiftlet_udp_send(int fd, const void *header, const void *data, size_t length, const void *peer,
                       unsigned peer_length) {
    struct iovec iov[2];
    struct msghdr message;
    memset(&message, 0, sizeof(message));
    iov[0].iov_base = (void *)header;
    iov[0].iov_len = 8;
    iov[1].iov_base = (void *)data;
    iov[1].iov_len = length;
    message.msg_name = (void *)peer;
    message.msg_namelen = peer_length;
    message.msg_iov = iov;
    message.msg_iovlen = length > 0 ? 2 : 1;
    return sendmsg(fd, &message, 0);
}
