// The functions engine: FUNCTION LOAD runs a library's code with only redis.register_function and friends,
// collecting the functions it registers (function_lua.c).
#include "vm_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sha1.h"

// MARK: - The functions engine

static const struct {
    const char *name;
    unsigned flag;
} script_flags[] = {
    {"no-writes", SWIFTLET_SCRIPT_FLAG_NO_WRITES},
    {"allow-oom", SWIFTLET_SCRIPT_FLAG_ALLOW_OOM},
    {"allow-stale", SWIFTLET_SCRIPT_FLAG_ALLOW_STALE},
    {"no-cluster", SWIFTLET_SCRIPT_FLAG_NO_CLUSTER},
    {"allow-cross-slot-keys", SWIFTLET_SCRIPT_FLAG_ALLOW_CROSS_SLOT},
    {NULL, 0},
};

static int valid_function_name(const char *name, size_t length) {
    if (length == 0) return 0;
    for (size_t i = 0; i < length; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return 0;
    }
    return 1;
}

/// Reads the flags table on top of the stack; returns -1 on an unknown flag or a non-string.
static int read_flags(lua_State *L, unsigned *flags) {
    unsigned f = 0;
    for (int j = 1;; j++) {
        lua_pushnumber(L, j);
        lua_gettable(L, -2);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            break;
        }
        if (!lua_isstring(L, -1)) {
            lua_pop(L, 1);
            return -1;
        }
        const char *name = lua_tostring(L, -1);
        int found = 0;
        for (int i = 0; script_flags[i].name; i++) {
            if (!strcasecmp(script_flags[i].name, name)) {
                f |= script_flags[i].flag;
                found = 1;
                break;
            }
        }
        lua_pop(L, 1);
        if (!found) return -1;
    }
    *flags = f;
    return 0;
}

/// redis.register_function(name, callback) or redis.register_function{function_name=, callback=, flags=,
/// description=}, only while FUNCTION LOAD runs the library's code.
int register_function(lua_State *L) {
    swiftlet_script_vm *vm = vm_of(L);
    if (!vm->loading) {
        return raise_error_text(L, "redis.register_function can only be called on FUNCTION LOAD command");
    }
    int argc = lua_gettop(L);
    if (argc < 1 || argc > 2) return raise_error_text(L, "wrong number of arguments to redis.register_function");
    const char *name = NULL, *description = NULL;
    size_t name_length = 0, description_length = 0;
    unsigned flags = 0;
    int callback = 0;  // stack index of the callback
    if (argc == 1) {
        if (!lua_istable(L, 1)) {
            return raise_error_text(L, "calling redis.register_function with a single argument is only applicable to "
                                       "Lua table (representing named arguments).");
        }
        lua_settop(L, 4);  // slots 2-4 keep the name, description and callback alive
        lua_pushnil(L);
        while (lua_next(L, 1)) {
            if (!lua_isstring(L, -2)) {
                return raise_error_text(L, "named argument key given to redis.register_function is not a string");
            }
            const char *key = lua_tostring(L, -2);
            if (!strcasecmp(key, "function_name")) {
                if (!lua_isstring(L, -1)) {
                    return raise_error_text(
                        L, "function_name argument given to redis.register_function must be a string");
                }
                lua_pushvalue(L, -1);
                lua_replace(L, 2);  // keep it alive in slot 2
                name = lua_tolstring(L, 2, &name_length);
            } else if (!strcasecmp(key, "description")) {
                if (!lua_isstring(L, -1)) {
                    return raise_error_text(
                        L, "description argument given to redis.register_function must be a string");
                }
                lua_pushvalue(L, -1);
                lua_replace(L, 3);
                description = lua_tolstring(L, 3, &description_length);
            } else if (!strcasecmp(key, "callback")) {
                if (!lua_isfunction(L, -1)) {
                    return raise_error_text(L, "callback argument given to redis.register_function must be a function");
                }
                lua_pushvalue(L, -1);
                lua_replace(L, 4);
                callback = 4;
            } else if (!strcasecmp(key, "flags")) {
                if (!lua_istable(L, -1)) {
                    return raise_error_text(
                        L, "flags argument to redis.register_function must be a table representing function flags");
                }
                if (read_flags(L, &flags) != 0) return raise_error_text(L, "unknown flag given");
            } else {
                return raise_error_text(L, "unknown argument given to redis.register_function");
            }
            lua_pop(L, 1);
        }
        if (!name) return raise_error_text(L, "redis.register_function must get a function name argument");
        if (!callback) return raise_error_text(L, "redis.register_function must get a callback argument");
    } else {
        if (!lua_isstring(L, 1)) return raise_error_text(L, "first argument to redis.register_function must be a string");
        if (!lua_isfunction(L, 2)) {
            return raise_error_text(L, "second argument to redis.register_function must be a function");
        }
        name = lua_tolstring(L, 1, &name_length);
        callback = 2;
    }
    if (!valid_function_name(name, name_length)) {
        return raise_error_text(L, "Library names can only contain letters, numbers, or underscores(_) and must be at "
                                   "least one character long");
    }
    for (int i = 0; i < vm->loaded_count; i++) {
        if (vm->loaded[i].name_length == name_length && !memcmp(vm->loaded[i].name, name, name_length)) {
            return raise_error_text(L, "Function already exists in the library");
        }
    }
    // Registered under "<prefix><name>"; the library is committed by the host, or dropped, after the load.
    lua_pushstring(L, vm->load_prefix);
    lua_pushlstring(L, name, name_length);
    lua_concat(L, 2);
    lua_pushvalue(L, callback);
    lua_settable(L, LUA_REGISTRYINDEX);
    if (vm->loaded_count == vm->loaded_capacity) {
        vm->loaded_capacity = vm->loaded_capacity ? vm->loaded_capacity * 2 : 8;
        vm->loaded = realloc(vm->loaded, sizeof(*vm->loaded) * (size_t)vm->loaded_capacity);
        if (!vm->loaded) abort();
    }
    struct loaded_function *f = &vm->loaded[vm->loaded_count++];
    f->name = malloc(name_length + 1);
    memcpy(f->name, name, name_length);
    f->name[name_length] = 0;
    f->name_length = name_length;
    f->description = NULL;
    f->description_length = 0;
    if (description) {
        f->description = malloc(description_length + 1);
        memcpy(f->description, description, description_length);
        f->description[description_length] = 0;
        f->description_length = description_length;
    }
    f->flags = flags;
    return 0;
}

static long elapsed_ms(const struct timespec *since) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

static void load_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    swiftlet_script_vm *vm = vm_of(L);
    if (vm->load_timeout_ms > 0 && elapsed_ms(&vm->load_started) > vm->load_timeout_ms) {
        lua_sethook(L, load_hook, LUA_MASKLINE, 0);
        raise_error_text(L, "FUNCTION LOAD timeout");
    }
}

struct load_args {
    swiftlet_script_vm *vm;
    const char *body;
    size_t length, skip;
    int status;
};

/// Sets what the globals proxy reads from: the library API while loading, the globals otherwise.
static void set_globals_source(lua_State *L, swiftlet_script_vm *vm, int loading) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->proxy_ref);
    lua_getmetatable(L, -1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, loading ? vm->library_api_ref : vm->values_ref);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 2);
}

static int load_protected(lua_State *L) {
    struct load_args *a = lua_touserdata(L, 1);
    swiftlet_script_vm *vm = a->vm;
    lua_settop(L, 0);
    restore_globals(L, vm);
    vm->error.length = 0;
    if (load_text(L, a->body + a->skip, a->length - a->skip, "@user_function")) {
        buffer_text(&vm->error, "Error compiling function: ");
        buffer_text(&vm->error, lua_tostring(L, -1));
        a->status = -1;
        return 0;
    }
    set_globals_source(L, vm, 1);
    vm->loading = 1;
    clock_gettime(CLOCK_MONOTONIC, &vm->load_started);
    lua_sethook(L, load_hook, LUA_MASKCOUNT, 100000);
    int err = lua_pcall(L, 0, 0, 0);
    lua_sethook(L, NULL, 0, 0);
    vm->loading = 0;
    set_globals_source(L, vm, 0);
    if (err) {
        buffer_text(&vm->error, "Error registering functions: ");
        if (lua_isstring(L, -1)) {
            buffer_text(&vm->error, "ERR ");
            buffer_text(&vm->error, lua_tostring(L, -1));
        } else if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "err");
            if (lua_isstring(L, -1)) buffer_text(&vm->error, lua_tostring(L, -1));
            lua_pop(L, 1);
        }
        a->status = -1;
        return 0;
    }
    a->status = vm->loaded_count;
    return 0;
}

int swiftlet_vm_load_library(
    swiftlet_script_vm *vm, const char *prefix, const char *body, size_t length, size_t skip, long timeout_ms) {
    clear_loaded(vm);
    vm->load_prefix = prefix;
    vm->load_timeout_ms = timeout_ms;
    struct load_args a = {vm, body, length, skip, -1};
    if (lua_cpcall(vm->L, load_protected, &a) != 0) {
        vm->loading = 0;
        lua_sethook(vm->L, NULL, 0, 0);
        vm->error.length = 0;
        buffer_text(&vm->error, "Error registering functions: out of memory");
        lua_pop(vm->L, 1);
        a.status = -1;
    }
    if (a.status < 0) swiftlet_vm_rename_functions(vm, prefix, NULL);
    return a.status;
}

swiftlet_function_info swiftlet_vm_loaded_function(swiftlet_script_vm *vm, int index) {
    struct loaded_function *f = &vm->loaded[index];
    return (swiftlet_function_info){f->name, f->name_length, f->description, f->description_length, f->flags};
}

struct rename_args {
    swiftlet_script_vm *vm;
    const char *from, *to;
};

static int rename_protected(lua_State *L) {
    struct rename_args *a = lua_touserdata(L, 1);
    size_t from_length = strlen(a->from);
    // Collect the keys first: the registry cannot change while it is walked.
    lua_newtable(L);
    int keys = lua_gettop(L);
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, LUA_REGISTRYINDEX)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
            size_t length;
            const char *key = lua_tolstring(L, -1, &length);
            if (length > from_length && !memcmp(key, a->from, from_length)) {
                lua_pushvalue(L, -1);
                lua_rawseti(L, keys, ++n);
            }
        }
    }
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, keys, i);
        size_t length;
        const char *key = lua_tolstring(L, -1, &length);
        if (a->to) {
            lua_pushstring(L, a->to);
            lua_pushlstring(L, key + from_length, length - from_length);
            lua_concat(L, 2);
            lua_pushvalue(L, -2);
            lua_rawget(L, LUA_REGISTRYINDEX);
            lua_rawset(L, LUA_REGISTRYINDEX);
        }
        lua_pushnil(L);
        lua_rawset(L, LUA_REGISTRYINDEX);
    }
    return 0;
}

void swiftlet_vm_rename_functions(swiftlet_script_vm *vm, const char *from_prefix, const char *to_prefix) {
    struct rename_args a = {vm, from_prefix, to_prefix};
    if (lua_cpcall(vm->L, rename_protected, &a) != 0) lua_pop(vm->L, 1);
}
