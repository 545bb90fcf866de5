#ifndef CSWIFTLET_ALLOCATOR_H
#define CSWIFTLET_ALLOCATOR_H

// The counting allocator has no API of its own: linking this target into an executable replaces malloc and its
// family for the whole process (see allocator.c), and CSwiftletSupport's swiftlet_used_memory() reports the count.
// Only the swiftlet-server executable links it; the embeddable library never replaces its host's malloc.

/// Referenced by the executable so that the linker keeps the object file (a no-op).
void swiftlet_allocator_link(void);

#endif
