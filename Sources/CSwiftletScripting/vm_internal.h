// Declarations shared by the files of the Lua VM (not part of the target's public header).
#ifndef SWIFTLET_VM_INTERNAL_H
#define SWIFTLET_VM_INTERNAL_H
#include "CSwiftletScripting.h"

#include <lua5.1/lauxlib.h>
#include <lua5.1/lua.h>
#include <lua5.1/lualib.h>
#include <stdint.h>
#include <time.h>

extern int luaopen_cjson(lua_State *L);
extern int luaopen_bit(lua_State *L);
int swiftlet_luaopen_cmsgpack(lua_State *L);
int swiftlet_luaopen_struct(lua_State *L);

#define REDIS_VERSION "7.0.15"
#define REDIS_VERSION_NUM 0x0007000f
#define READONLY_ERROR "Attempt to modify a readonly table"

/// vm_alloc's free lists: blocks of up to LUA_SMALL_LIMIT bytes in LUA_SIZE_STEP classes.
#define LUA_SMALL_LIMIT 256
#define LUA_SIZE_STEP 16
#define LUA_SIZE_CLASSES (LUA_SMALL_LIMIT / LUA_SIZE_STEP)
/// At most this many bytes of freed blocks are kept, all classes together (a script's garbage between two GC steps
/// is far less; a script that built and dropped a million small strings does not keep their memory).
#define LUA_KEEP_BYTES (1 << 20)

typedef struct lua_free_block {
    struct lua_free_block *next;
} lua_free_block;

typedef struct {
    lua_free_block *free[LUA_SIZE_CLASSES];
    size_t kept_bytes;
} lua_allocator;

void *vm_alloc(void *context, void *pointer, size_t osize, size_t nsize);
void vm_alloc_drain(lua_allocator *a);

struct swiftlet_script_vm {
    lua_State *L;
    lua_allocator allocator;
    int kind;
    swiftlet_script_host host;
    /// Registry references: the hidden globals V, the proxy P, the read-only set, the error handler, the API table
    /// seen while a library loads (functions engine).
    int values_ref, proxy_ref, readonly_ref, handler_ref, library_api_ref;
    swiftlet_buffer reply, error, scratch;
    /// redis.call's argument descriptors (swiftlet_bytes), kept from call to call.
    swiftlet_buffer arguments;
    /// Set while a script runs (redis.call and friends refuse otherwise), with the script's RESP version.
    int running, resp;
    /// redis.call re-entered from a hook.
    int in_call;
    /// Runs since the last incremental GC step (Redis steps every 50 runs).
    int runs_since_gc;
    /// Redis's rand48 state for math.random.
    uint64_t rand_state;
    /// FUNCTION LOAD: the functions registered so far, and the load's deadline.
    int loading;
    const char *load_prefix;
    struct loaded_function {
        char *name;
        size_t name_length;
        char *description;
        size_t description_length;
        unsigned flags;
    } *loaded;
    int loaded_count, loaded_capacity;
    struct timespec load_started;
    long load_timeout_ms;
};

void buffer_format(swiftlet_buffer *buffer, const char *format, ...);
void buffer_text(swiftlet_buffer *buffer, const char *text);
void clear_loaded(swiftlet_script_vm *vm);
int guarded_rawset(lua_State *L);
int guarded_setmetatable(lua_State *L);
int load_text(lua_State *L, const char *chunk, size_t length, const char *name);
int lua_pcall_compat(lua_State *L);
void make_readonly_proxy(lua_State *L, swiftlet_script_vm *vm);
int math_random(lua_State *L);
int math_randomseed(lua_State *L);
int nonexistent_global(lua_State *L);
const char *parse_reply(lua_State *L, const char *p, int push);
void push_error_table(lua_State *L, const char *text, size_t length);
void push_error_text(lua_State *L, const char *text);
int raise_error_text(lua_State *L, const char *text);
void rand48_seed(swiftlet_script_vm *vm, int32_t seed);
int readonly_newindex(lua_State *L);
int redis_acl_check_cmd(lua_State *L);
int redis_breakpoint(lua_State *L);
int redis_call(lua_State *L);
int redis_debug(lua_State *L);
int redis_error_reply(lua_State *L);
int redis_log(lua_State *L);
int redis_pcall(lua_State *L);
int redis_replicate_commands(lua_State *L);
int redis_set_repl(lua_State *L);
int redis_setresp(lua_State *L);
int redis_sha1hex(lua_State *L);
int redis_status_reply(lua_State *L);
int register_function(lua_State *L);
void restore_globals(lua_State *L, swiftlet_script_vm *vm);
int text_load(lua_State *L);
int text_loadstring(lua_State *L);
swiftlet_script_vm *vm_of(lua_State *L);
void write_line(swiftlet_buffer *out, const char *text, size_t length);
int write_value(lua_State *L, swiftlet_buffer *out, int script_resp, int resp, int *counted);

void mark_readonly(lua_State *L, swiftlet_script_vm *vm, int index);
int see_through_next(lua_State *L);
int see_through_pairs(lua_State *L);
int see_through_ipairs(lua_State *L);
int see_through_rawget(lua_State *L);
int guarded_getmetatable(lua_State *L);

#endif
