// The Lua 5.1 interpreter as Redis 7.0 embeds it: creating a VM (its libraries, its sandbox, the `redis` API),
// defining and running scripts. See include/CSwiftletScripting.h for the boundary with Swift. The other files:
// vm_support.c (buffers, Redis's error tables), vm_resp.c (RESP <-> Lua), vm_api.c (the `redis` table, pcall,
// math.random), vm_sandbox.c (read-only tables, text-only loading), vm_functions.c (FUNCTION LOAD).
//
// The sandbox. Redis 7.0 patches its Lua to mark tables read-only (`lua_enablereadonlytable`); Debian's Lua has no
// such flag, so the same protection is built from stock metatables:
//   - the values scripts see as globals live in a hidden table V; the thread's global table is an empty proxy P
//     whose metatable reads from V and refuses every write ("Attempt to modify a readonly table");
//   - V's own metatable raises "Script attempted to access nonexistent global variable" for a missing name;
//   - the library tables (redis, string, math, table, cjson, bit, struct, cmsgpack, coroutine) are replaced in V by
//     read-only proxies of the same kind, and strings' metatable indexes the `string` proxy;
//   - `rawset` and `setmetatable` refuse a read-only table with the same message (Redis's flag also stops them);
//   - `next`, `pairs`, `ipairs` and `rawget` see through a proxy to its table, `getmetatable` shows nil for a
//     library proxy, as Redis's tables have no metatable.
#include "vm_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sha1.h"

// MARK: - Creating a VM

static void set_function(lua_State *L, const char *name, lua_CFunction f) {
    lua_pushcfunction(L, f);
    lua_setfield(L, -2, name);
}

static void register_log_and_version(lua_State *L) {
    set_function(L, "log", redis_log);
    lua_pushnumber(L, 0);
    lua_setfield(L, -2, "LOG_DEBUG");
    lua_pushnumber(L, 1);
    lua_setfield(L, -2, "LOG_VERBOSE");
    lua_pushnumber(L, 2);
    lua_setfield(L, -2, "LOG_NOTICE");
    lua_pushnumber(L, 3);
    lua_setfield(L, -2, "LOG_WARNING");
    lua_pushnumber(L, REDIS_VERSION_NUM);
    lua_setfield(L, -2, "REDIS_VERSION_NUM");
    lua_pushstring(L, REDIS_VERSION);
    lua_setfield(L, -2, "REDIS_VERSION");
}


/// The error handler every run goes through (Redis's __redis__err__handler): an error becomes {err=, source=,
/// line=} with the position of the Lua code that raised it (the caller's, when a C function raised).
static const char *error_handler_code =
    "local dbg = ...\n"
    "return function(err)\n"
    "  local i = dbg.getinfo(2,'nSl')\n"
    "  if i and i.what == 'C' then\n"
    "    i = dbg.getinfo(3,'nSl')\n"
    "  end\n"
    "  if type(err) ~= 'table' then\n"
    "    err = {err='ERR ' .. tostring(err)}\n"
    "  end\n"
    "  if i then\n"
    "    err['source'] = i.source\n"
    "    err['line'] = i.currentline\n"
    "  end\n"
    "  return err\n"
    "end\n";

static int create_protected(lua_State *L) {
    swiftlet_script_vm *vm = lua_touserdata(L, 1);
    lua_settop(L, 0);
    lua_pushlightuserdata(L, vm);
    lua_setfield(L, LUA_REGISTRYINDEX, "__swiftlet_vm__");

    // The weak set of read-only tables, and the weak map from each read-only proxy to the table it shows.
    lua_newtable(L);
    lua_newtable(L);
    lua_pushstring(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    vm->readonly_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L);
    lua_newtable(L);
    lua_pushstring(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, "__swiftlet_proxied__");

    // The libraries, into the state's own globals (V from here on).
    lua_pushcfunction(L, luaopen_base);
    lua_pushstring(L, "");
    lua_call(L, 1, 0);
    lua_pushcfunction(L, luaopen_table);
    lua_pushstring(L, LUA_TABLIBNAME);
    lua_call(L, 1, 0);
    lua_pushcfunction(L, luaopen_string);
    lua_pushstring(L, LUA_STRLIBNAME);
    lua_call(L, 1, 0);
    lua_pushcfunction(L, luaopen_math);
    lua_pushstring(L, LUA_MATHLIBNAME);
    lua_call(L, 1, 0);
    lua_pushcfunction(L, luaopen_debug);
    lua_pushstring(L, LUA_DBLIBNAME);
    lua_call(L, 1, 0);
    lua_pushcfunction(L, luaopen_cjson);
    lua_call(L, 0, 1);
    lua_setglobal(L, "cjson");
    lua_pushcfunction(L, swiftlet_luaopen_struct);
    lua_call(L, 0, 1);
    lua_setglobal(L, "struct");
    lua_pushcfunction(L, swiftlet_luaopen_cmsgpack);
    lua_call(L, 0, 1);
    lua_setglobal(L, "cmsgpack");
    lua_pushcfunction(L, luaopen_bit);
    lua_call(L, 0, 1);
    lua_setglobal(L, "bit");
    // What Redis keeps out of its globals (its deny list), and what its allow list never lets in.
    // (getfenv, setfenv and newproxy are gone from Redis 7.0.15's globals too: setfenv let a script swap in a
    // writable environment.)
    const char *removed[] = {"dofile", "loadfile", "print", "module", "require", "package", "getfenv", "setfenv",
                             "newproxy", NULL};
    for (int i = 0; removed[i]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, removed[i]);
    }
    lua_pushcfunction(L, lua_pcall_compat);
    lua_setglobal(L, "pcall");
    lua_pushcfunction(L, guarded_rawset);
    lua_setglobal(L, "rawset");
    lua_pushcfunction(L, guarded_setmetatable);
    lua_setglobal(L, "setmetatable");
    lua_pushcfunction(L, text_loadstring);
    lua_setglobal(L, "loadstring");
    lua_pushcfunction(L, text_load);
    lua_setglobal(L, "load");
    lua_pushcfunction(L, see_through_next);
    lua_setglobal(L, "next");
    lua_pushcfunction(L, see_through_pairs);
    lua_setglobal(L, "pairs");
    lua_pushcfunction(L, see_through_ipairs);
    lua_setglobal(L, "ipairs");
    lua_pushcfunction(L, see_through_rawget);
    lua_setglobal(L, "rawget");
    lua_pushcfunction(L, guarded_getmetatable);
    lua_setglobal(L, "getmetatable");

    lua_getglobal(L, "math");
    set_function(L, "random", math_random);
    set_function(L, "randomseed", math_randomseed);
    lua_pop(L, 1);

    // The redis table.
    lua_newtable(L);
    set_function(L, "call", redis_call);
    set_function(L, "pcall", redis_pcall);
    register_log_and_version(L);
    set_function(L, "setresp", redis_setresp);
    set_function(L, "sha1hex", redis_sha1hex);
    set_function(L, "error_reply", redis_error_reply);
    set_function(L, "status_reply", redis_status_reply);
    set_function(L, "set_repl", redis_set_repl);
    lua_pushnumber(L, 0);
    lua_setfield(L, -2, "REPL_NONE");
    lua_pushnumber(L, 1);
    lua_setfield(L, -2, "REPL_AOF");
    lua_pushnumber(L, 2);
    lua_setfield(L, -2, "REPL_SLAVE");
    lua_pushnumber(L, 2);
    lua_setfield(L, -2, "REPL_REPLICA");
    lua_pushnumber(L, 3);
    lua_setfield(L, -2, "REPL_ALL");
    set_function(L, "acl_check_cmd", redis_acl_check_cmd);
    if (vm->kind == SWIFTLET_VM_EVAL) {
        set_function(L, "breakpoint", redis_breakpoint);
        set_function(L, "debug", redis_debug);
        set_function(L, "replicate_commands", redis_replicate_commands);
    }
    lua_setglobal(L, "redis");

    // The error handler, made with `debug`, which scripts then never see.
    if (luaL_loadbuffer(L, error_handler_code, strlen(error_handler_code), "@err_handler_def")) lua_error(L);
    lua_getglobal(L, "debug");
    lua_call(L, 1, 1);
    lua_pushvalue(L, -1);
    vm->handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (vm->kind == SWIFTLET_VM_EVAL) {
        lua_setglobal(L, "__redis__err__handler");
    } else {
        lua_pop(L, 1);
    }
    lua_pushnil(L);
    lua_setglobal(L, "debug");

    // The library tables become read-only proxies, and strings index the `string` proxy.
    const char *libraries[] = {"redis", "string", "math", "table", "cjson", "bit", "struct", "cmsgpack", "coroutine",
                               NULL};
    for (int i = 0; libraries[i]; i++) {
        lua_getglobal(L, libraries[i]);
        make_readonly_proxy(L, vm);
        lua_setglobal(L, libraries[i]);
    }
    lua_pushstring(L, "");
    lua_getmetatable(L, -1);
    lua_getglobal(L, "string");
    lua_setfield(L, -2, "__index");
    // getmetatable("") shows a read-only proxy of strings' metatable: its __index is the `string` proxy, and it
    // cannot be changed (a change would reach every later script).
    lua_pushvalue(L, -1);
    make_readonly_proxy(L, vm);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);

    // V: the globals, whose missing names raise Redis's error. P: the proxy scripts see as their globals.
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    lua_newtable(L);
    lua_pushcfunction(L, nonexistent_global);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    vm->values_ref = luaL_ref(L, LUA_REGISTRYINDEX);

    lua_newtable(L);  // P
    lua_newtable(L);  // P's metatable
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->values_ref);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, readonly_newindex);
    lua_setfield(L, -2, "__newindex");
    // getmetatable(_G) shows a read-only table (Redis shows its protected error metatable).
    lua_newtable(L);
    lua_pushcfunction(L, nonexistent_global);
    lua_setfield(L, -2, "__index");
    make_readonly_proxy(L, vm);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    mark_readonly(L, vm, -1);
    // P shows V to the see-through functions (pairs(_G) lists the globals, as in Redis).
    lua_getfield(L, LUA_REGISTRYINDEX, "__swiftlet_proxied__");
    lua_pushvalue(L, -2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->values_ref);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    vm->proxy_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    // _G is the proxy too.
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->values_ref);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "_G");
    lua_pop(L, 1);
    lua_replace(L, LUA_GLOBALSINDEX);

    if (vm->kind == SWIFTLET_VM_FUNCTIONS) {
        // While a library loads its code sees only `redis` with register_function, log and the version
        // (function_lua.c's LIBRARY_API), every other name raising the nonexistent-global error.
        lua_newtable(L);
        lua_newtable(L);
        set_function(L, "register_function", register_function);
        register_log_and_version(L);
        lua_newtable(L);
        lua_pushcfunction(L, nonexistent_global);
        lua_setfield(L, -2, "__index");
        lua_setmetatable(L, -2);
        make_readonly_proxy(L, vm);
        lua_setfield(L, -2, "redis");
        lua_newtable(L);
        lua_pushcfunction(L, nonexistent_global);
        lua_setfield(L, -2, "__index");
        lua_setmetatable(L, -2);
        vm->library_api_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    return 0;
}

/// Every Lua call runs protected (lua_cpcall), so an unprotected error is a bug: as luaL_newstate's panic, but fatal
/// at once.
static int panic(lua_State *L) {
    fprintf(stderr, "PANIC: unprotected error in call to Lua API (%s)\n", lua_tostring(L, -1));
    abort();
}

swiftlet_script_vm *swiftlet_vm_create(int kind, swiftlet_script_host host) {
    swiftlet_script_vm *vm = calloc(1, sizeof(*vm));
    if (!vm) return NULL;
    vm->kind = kind;
    vm->host = host;
    vm->resp = 2;
    rand48_seed(vm, 0);
    vm->rand_state = ((uint64_t)0x1234 << 32) | ((uint64_t)0xABCD << 16) | 0x330E;  // rand48's initial state
    vm->L = lua_newstate(vm_alloc, &vm->allocator);
    if (!vm->L) {
        vm_alloc_drain(&vm->allocator);
        free(vm);
        return NULL;
    }
    lua_atpanic(vm->L, panic);
    if (lua_cpcall(vm->L, create_protected, vm) != 0) {
        lua_close(vm->L);
        vm_alloc_drain(&vm->allocator);
        free(vm);
        return NULL;
    }
    return vm;
}

void clear_loaded(swiftlet_script_vm *vm) {
    for (int i = 0; i < vm->loaded_count; i++) {
        free(vm->loaded[i].name);
        free(vm->loaded[i].description);
    }
    vm->loaded_count = 0;
}

void swiftlet_vm_destroy(swiftlet_script_vm *vm) {
    if (!vm) return;
    lua_close(vm->L);
    vm_alloc_drain(&vm->allocator);
    clear_loaded(vm);
    free(vm->loaded);
    free(vm->reply.data);
    free(vm->error.data);
    free(vm->scratch.data);
    free(vm->arguments.data);
    free(vm);
}

swiftlet_bytes swiftlet_vm_reply(swiftlet_script_vm *vm) {
    return (swiftlet_bytes){vm->reply.data, vm->reply.length};
}

swiftlet_bytes swiftlet_vm_error(swiftlet_script_vm *vm) {
    return (swiftlet_bytes){vm->error.data, vm->error.length};
}

size_t swiftlet_vm_memory(swiftlet_script_vm *vm) { return (size_t)lua_gc(vm->L, LUA_GCCOUNT, 0) * 1024; }

/// Restores the thread's globals to the proxy (a script may have called setfenv(0, ...)).
void restore_globals(lua_State *L, swiftlet_script_vm *vm) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->proxy_ref);
    lua_replace(L, LUA_GLOBALSINDEX);
}

// MARK: - Defining and running scripts

struct define_args {
    swiftlet_script_vm *vm;
    const char *body;
    size_t length, skip;
    int ref;
};

static int define_protected(lua_State *L) {
    struct define_args *a = lua_touserdata(L, 1);
    restore_globals(L, a->vm);
    if (load_text(L, a->body + a->skip, a->length - a->skip, "@user_script")) {
        size_t n;
        const char *message = lua_tolstring(L, -1, &n);
        a->vm->error.length = 0;
        buffer_text(&a->vm->error, "Error compiling script (new function): ");
        write_line(&a->vm->error, message, n);
        a->ref = -1;
        return 0;
    }
    a->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

int swiftlet_vm_define(swiftlet_script_vm *vm, const char *body, size_t length, size_t skip) {
    struct define_args a = {vm, body, length, skip, -1};
    if (lua_cpcall(vm->L, define_protected, &a) != 0) {
        vm->error.length = 0;
        buffer_text(&vm->error, "Error compiling script (new function): out of memory");
        lua_pop(vm->L, 1);
        return -1;
    }
    return a.ref;
}

/// The count hook (luaMaskCountHook): asks the host whether the script is to be killed; once killed, the hook runs
/// on every line so that a pcall in the script cannot catch the error and go on.
static void count_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    swiftlet_script_vm *vm = vm_of(L);
    if (vm->host.interrupt(vm->host.context)) {
        lua_sethook(L, count_hook, LUA_MASKLINE, 0);
        raise_error_text(L, "Script killed by user with SCRIPT KILL...");
    }
}

struct run_args {
    swiftlet_script_vm *vm;
    int ref;
    const char *name, *label;
    const swiftlet_bytes *keys, *args;
    int nkeys, nargs, caller_resp, hook, status;
};

static void push_array(lua_State *L, const swiftlet_bytes *items, int count) {
    lua_createtable(L, count, 0);
    for (int j = 0; j < count; j++) {
        lua_pushlstring(L, items[j].data, items[j].length);
        lua_rawseti(L, -2, j + 1);
    }
}

static int run_protected(lua_State *L) {
    struct run_args *a = lua_touserdata(L, 1);
    swiftlet_script_vm *vm = a->vm;
    lua_settop(L, 0);
    restore_globals(L, vm);
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->handler_ref);
    if (a->name) {
        lua_getfield(L, LUA_REGISTRYINDEX, a->name);
    } else {
        lua_rawgeti(L, LUA_REGISTRYINDEX, a->ref);
    }
    int nargs = 0;
    if (vm->kind == SWIFTLET_VM_EVAL) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, vm->values_ref);
        push_array(L, a->keys, a->nkeys);
        lua_setfield(L, -2, "KEYS");
        push_array(L, a->args, a->nargs);
        lua_setfield(L, -2, "ARGV");
        lua_pop(L, 1);
    } else {
        push_array(L, a->keys, a->nkeys);
        push_array(L, a->args, a->nargs);
        nargs = 2;
    }
    if (a->hook) lua_sethook(L, count_hook, LUA_MASKCOUNT, 100000);
    int err = lua_pcall(L, nargs, 1, 1);
    // The hook stays until the value is converted: the conversion reads the script's tables, whose metamethods are
    // script code too (a loop there must stay killable). swiftlet_vm_run removes it.
    if (++vm->runs_since_gc == 50) {
        lua_gc(L, LUA_GCSTEP, 50);
        vm->runs_since_gc = 0;
    }
    swiftlet_buffer *out = &vm->reply;
    out->length = 0;
    if (err) {
        if (!lua_istable(L, -1)) {
            const char *message = lua_isstring(L, -1) ? lua_tostring(L, -1) : "execution failure";
            buffer_format(out, "-ERR Error running script %s, %.100s", a->label, message);
            // addReplyErrorFormat: newlines made spaces, the trailing ones trimmed.
            while (out->length > 0 && (out->data[out->length - 1] == '\n' || out->data[out->length - 1] == '\r')) {
                out->length--;
            }
            for (size_t i = 1; i < out->length; i++) {
                if (out->data[i] == '\r' || out->data[i] == '\n') out->data[i] = ' ';
            }
            buffer_text(out, "\r\n");
            a->status = SWIFTLET_RUN_ERROR;
        } else {
            int ignore = 0;
            lua_getfield(L, -1, "err");
            size_t length = 0;
            const char *message = lua_isstring(L, -1) ? lua_tolstring(L, -1, &length) : NULL;
            lua_getfield(L, -2, "source");
            const char *source = lua_isstring(L, -1) ? lua_tostring(L, -1) : NULL;
            lua_getfield(L, -3, "line");
            const char *line = lua_isstring(L, -1) ? lua_tostring(L, -1) : NULL;
            lua_getfield(L, -4, "ignore_error_stats_update");
            if (lua_isboolean(L, -1)) ignore = lua_toboolean(L, -1);
            // addReplyErrorLength: "-ERR " unless the text has its own '-' (it never has: codes are stripped).
            swiftlet_buffer_append(out, "-", 1);
            if (message) {
                swiftlet_buffer_append(out, message, length);
            } else {
                buffer_text(out, "(null)");
            }
            if (line && source) buffer_format(out, " script: %s, on %s:%s.", a->label, source, line);
            buffer_text(out, "\r\n");
            a->status = ignore ? SWIFTLET_RUN_ERROR_COUNTED : SWIFTLET_RUN_ERROR;
        }
        lua_pop(L, 1);
    } else {
        int counted = 0;
        if (write_value(L, out, vm->resp, a->caller_resp, &counted)) {
            a->status = counted ? SWIFTLET_RUN_ERROR_COUNTED : SWIFTLET_RUN_ERROR;
        } else {
            a->status = SWIFTLET_RUN_OK;
        }
    }
    return 0;
}

int swiftlet_vm_run(
    swiftlet_script_vm *vm, int ref, const char *name, const char *label, const swiftlet_bytes *keys, int nkeys,
    const swiftlet_bytes *args, int nargs, int caller_resp, int hook) {
    struct run_args a = {vm, ref, name, label, keys, args, nkeys, nargs, caller_resp, hook, SWIFTLET_RUN_ERROR};
    vm->running = 1;
    vm->resp = 2;  // each script starts in RESP2 (scriptPrepareForRun)
    vm->in_call = 0;
    int failed = lua_cpcall(vm->L, run_protected, &a);
    lua_sethook(vm->L, NULL, 0, 0);
    if (failed) {
        const char *message = lua_tostring(vm->L, -1);
        vm->reply.length = 0;
        buffer_format(&vm->reply, "-ERR Error running script %s, %.100s\r\n", label, message ? message : "?");
        lua_pop(vm->L, 1);
        a.status = SWIFTLET_RUN_ERROR;
    }
    vm->running = 0;
    return a.status;
}
