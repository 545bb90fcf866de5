#include "CSwiftletSupport.h"
// <malloc.h> first: it brings <features.h>, which defines __GLIBC__ for the checks below.
#if defined(__linux__)
#include <malloc.h>
#endif

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
