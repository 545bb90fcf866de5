// Lua's allocator for the scripting VMs. Small blocks (up to 256 bytes: tables, short strings, closures, most of
// what a script allocates) go back to a per-size free list when Lua frees them, so the next run reuses them without
// a trip through malloc; larger blocks go to malloc. Redis links its Lua with jemalloc, whose small sizes cost about
// as little; glibc's (behind Swiftlet's counting malloc) cost several times more, and the GC step every 50 runs
// frees a run's garbage all at once.
#include "vm_internal.h"

#include <stdlib.h>
#include <string.h>

/// The size class of a small block (16-byte steps), or -1 for a block malloc serves.
static int class_of(size_t size) {
    return size > 0 && size <= LUA_SMALL_LIMIT ? (int)((size - 1) / LUA_SIZE_STEP) : -1;
}

static size_t class_bytes(int size_class) { return (size_t)(size_class + 1) * LUA_SIZE_STEP; }

static void *take(lua_allocator *a, int size_class) {
    lua_free_block *block = a->free[size_class];
    if (block) {
        a->free[size_class] = block->next;
        a->kept_bytes -= class_bytes(size_class);
        return block;
    }
    return malloc(class_bytes(size_class));
}

/// Keeps a small block for reuse, up to LUA_KEEP_BYTES in all.
static void release(lua_allocator *a, void *pointer, int size_class) {
    if (!pointer) return;
    if (size_class < 0 || a->kept_bytes + class_bytes(size_class) > LUA_KEEP_BYTES) {
        free(pointer);
        return;
    }
    lua_free_block *block = pointer;
    block->next = a->free[size_class];
    a->free[size_class] = block;
    a->kept_bytes += class_bytes(size_class);
}

/// lua_Alloc: `osize` is the size of `pointer`'s block (0 when it is NULL); `nsize` 0 frees it.
void *vm_alloc(void *context, void *pointer, size_t osize, size_t nsize) {
    lua_allocator *a = context;
    int from = pointer ? class_of(osize) : -1;
    if (nsize == 0) {
        release(a, pointer, from);
        return NULL;
    }
    int to = class_of(nsize);
    if (pointer && from >= 0 && from == to) return pointer;
    if (pointer && from < 0 && to < 0) {
        void *moved = realloc(pointer, nsize);
        return moved ? moved : nsize <= osize ? pointer : NULL;
    }
    void *block = to >= 0 ? take(a, to) : malloc(nsize);
    // Lua 5.1 counts on a shrink never failing: the old block is large enough, and keeps serving. (Its size class as
    // Lua will name it from now on may be smaller than the one it came from; a block only ever goes back to a list
    // of blocks no larger than itself, or to free.)
    if (!block) return nsize <= osize ? pointer : NULL;
    if (pointer) {
        memcpy(block, pointer, osize < nsize ? osize : nsize);
        release(a, pointer, from);
    }
    return block;
}

/// Frees the kept blocks (after lua_close, which gave every block back).
void vm_alloc_drain(lua_allocator *a) {
    for (int i = 0; i < LUA_SIZE_CLASSES; i++) {
        while (a->free[i]) {
            lua_free_block *next = a->free[i]->next;
            free(a->free[i]);
            a->free[i] = next;
        }
    }
    a->kept_bytes = 0;
}
