#include "CSwiftletSupport.h"
#if defined(__GLIBC__)
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
