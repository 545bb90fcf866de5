// The `redis` table scripts call (redis.call, pcall, sha1hex, error_reply, status_reply, set_repl, acl_check_cmd,
// log, setresp...), the `pcall` of Redis 7, and math.random on Redis's rand48.
#include "vm_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sha1.h"

// MARK: - The redis API

/// Arguments of redis.call and friends as bytes: strings as they are, numbers as "%.17g" (Lua's own conversion
/// loses precision). Returns the count, or -1 when one is neither (the error table is then pushed).
static int collect_arguments(lua_State *L, swiftlet_script_vm *vm, swiftlet_bytes **out) {
    int argc = lua_gettop(L);
    if (argc == 0) {
        push_error_text(L, "Please specify at least one argument for this redis lib call");
        return -1;
    }
    // Numbers are formatted into the scratch buffer first (their offsets kept in `length`); pointers into it are
    // taken once it stops growing.
    vm->scratch.length = 0;
    vm->arguments.length = 0;
    swiftlet_bytes none = {NULL, 0};
    for (int j = 0; j < argc; j++) swiftlet_buffer_append(&vm->arguments, &none, sizeof(none));
    swiftlet_bytes *argv = (swiftlet_bytes *)vm->arguments.data;
    for (int j = 1; j <= argc; j++) {
        if (lua_type(L, j) == LUA_TNUMBER) {
            argv[j - 1].data = NULL;
            argv[j - 1].length = vm->scratch.length;
            char number[64];
            int n = snprintf(number, sizeof(number), "%.17g", (double)lua_tonumber(L, j));
            swiftlet_buffer_append(&vm->scratch, number, (size_t)n + 1);
        } else if (lua_type(L, j) == LUA_TSTRING) {
            argv[j - 1].data = lua_tolstring(L, j, &argv[j - 1].length);
        } else {
            push_error_text(L, "Lua redis lib command arguments must be strings or integers");
            return -1;
        }
    }
    for (int j = 0; j < argc; j++) {
        if (argv[j].data == NULL) {
            argv[j].data = vm->scratch.data + argv[j].length;
            argv[j].length = strlen(argv[j].data);
        }
    }
    *out = argv;
    return argc;
}

static int redis_generic_call(lua_State *L, int raise) {
    swiftlet_script_vm *vm = vm_of(L);
    if (!vm->running) return raise_error_text(L, "redis.call/pcall can only be called inside a script invocation");
    swiftlet_bytes *argv;
    int argc = collect_arguments(L, vm, &argv);
    if (argc < 0) return raise ? lua_error(L) : 1;
    if (vm->in_call) {
        push_error_text(L, "luaRedisGenericCommand() recursive call detected. Are you doing funny stuff with Lua debug hooks?");
        return 1;
    }
    vm->in_call = 1;
    vm->reply.length = 0;
    vm->host.call(vm->host.context, argc, argv, vm->resp, &vm->reply);
    vm->in_call = 0;
    swiftlet_buffer_append(&vm->reply, "", 1);  // NUL: the parser finds line ends with strchr
    lua_settop(L, 0);
    parse_reply(L, vm->reply.data, 1);
    if (raise && vm->reply.data[0] == '-') return lua_error(L);
    return 1;
}

int redis_call(lua_State *L) { return redis_generic_call(L, 1); }
int redis_pcall(lua_State *L) { return redis_generic_call(L, 0); }

/// The global `pcall`: Lua's, except that an error table (Redis 7's error object) is returned as its message, as
/// older Redis versions returned strings (luaRedisPcall).
int lua_pcall_compat(lua_State *L) {
    int argc = lua_gettop(L);
    luaL_checkany(L, 1);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    if (lua_pcall(L, argc - 1, LUA_MULTRET, 0)) {
        lua_remove(L, 1);
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "err");
            if (lua_isstring(L, -1)) {
                lua_replace(L, -2);
            } else {
                lua_pop(L, 1);
            }
        }
        lua_pushboolean(L, 0);
        lua_insert(L, 1);
    }
    return lua_gettop(L);
}

int redis_sha1hex(lua_State *L) {
    if (lua_gettop(L) != 1) return raise_error_text(L, "wrong number of arguments");
    size_t length;
    const char *s = lua_tolstring(L, 1, &length);
    char digest[41];
    swiftlet_sha1_hex(digest, s ? s : "", s ? length : 0);
    lua_pushstring(L, digest);
    return 1;
}

int redis_error_reply(lua_State *L) {
    if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
        push_error_text(L, "wrong number or type of arguments");
        return 1;
    }
    size_t length;
    const char *s = lua_tolstring(L, -1, &length);
    if (length > 0 && s[0] == '-') {
        push_error_table(L, s, strlen(s));
    } else {
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        luaL_addchar(&b, '-');
        luaL_addstring(&b, s);
        luaL_pushresult(&b);
        size_t n;
        const char *text = lua_tolstring(L, -1, &n);
        push_error_table(L, text, n);
    }
    return 1;
}

int redis_status_reply(lua_State *L) {
    if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
        push_error_text(L, "wrong number or type of arguments");
        return 1;
    }
    lua_newtable(L);
    lua_pushstring(L, "ok");
    lua_pushvalue(L, -3);
    lua_settable(L, -3);
    return 1;
}

int redis_set_repl(lua_State *L) {
    swiftlet_script_vm *vm = vm_of(L);
    if (!vm->running) return raise_error_text(L, "redis.set_repl can only be called inside a script invocation");
    if (lua_gettop(L) != 1) return raise_error_text(L, "redis.set_repl() requires two arguments.");
    int flags = (int)lua_tonumber(L, -1);
    if ((flags & ~3) != 0) {
        return raise_error_text(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
    }
    vm->host.set_repl(vm->host.context, flags);
    return 0;
}

int redis_acl_check_cmd(lua_State *L) {
    swiftlet_script_vm *vm = vm_of(L);
    if (!vm->running) return raise_error_text(L, "redis.acl_check_cmd can only be called inside a script invocation");
    swiftlet_bytes *argv;
    int argc = collect_arguments(L, vm, &argv);
    if (argc < 0) return lua_error(L);
    int allowed = vm->host.acl_check(vm->host.context, argc, argv);
    if (allowed < 0) return raise_error_text(L, "Invalid command passed to redis.acl_check_cmd()");
    lua_pushboolean(L, allowed);
    return 1;
}

int redis_log(lua_State *L) {
    swiftlet_script_vm *vm = vm_of(L);
    int argc = lua_gettop(L);
    if (argc < 2) return raise_error_text(L, "redis.log() requires two arguments or more.");
    if (!lua_isnumber(L, -argc)) return raise_error_text(L, "First argument must be a number (log level).");
    int level = (int)lua_tonumber(L, -argc);
    if (level < 0 || level > 3) return raise_error_text(L, "Invalid debug level.");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int j = 1; j < argc; j++) {
        size_t length;
        // From the bottom: the buffer pushes its pieces above the arguments once it fills.
        const char *s = lua_tolstring(L, j + 1, &length);
        if (s) {
            if (j != 1) luaL_addchar(&b, ' ');
            luaL_addlstring(&b, s, length);
        }
    }
    luaL_pushresult(&b);
    size_t length;
    const char *text = lua_tolstring(L, -1, &length);
    vm->host.log(vm->host.context, level, text, length);
    return 0;
}

int redis_setresp(lua_State *L) {
    swiftlet_script_vm *vm = vm_of(L);
    if (!vm->running) return raise_error_text(L, "redis.setresp can only be called inside a script invocation");
    if (lua_gettop(L) != 1) return raise_error_text(L, "redis.setresp() requires one argument.");
    int resp = (int)lua_tonumber(L, -1);
    if (resp != 2 && resp != 3) return raise_error_text(L, "RESP version must be 2 or 3.");
    vm->resp = resp;
    return 0;
}

int redis_breakpoint(lua_State *L) {
    lua_pushboolean(L, 0);  // no debugging session (SCRIPT DEBUG) is ever active
    return 1;
}

int redis_debug(lua_State *L) {
    (void)L;
    return 0;
}

int redis_replicate_commands(lua_State *L) {
    lua_pushboolean(L, 1);
    return 1;
}

// MARK: - math.random as Redis has it (rand48, the same sequence on every platform)

static int32_t rand48_next(swiftlet_script_vm *vm) {
    vm->rand_state = (vm->rand_state * 0x5DEECE66DULL + 0xB) & ((1ULL << 48) - 1);
    return (int32_t)(vm->rand_state >> 17);
}

void rand48_seed(swiftlet_script_vm *vm, int32_t seed) {
    vm->rand_state = ((uint64_t)(uint32_t)seed << 16) | 0x330E;
}

int math_random(lua_State *L) {
    swiftlet_script_vm *vm = vm_of(L);
    if (!vm->running) return luaL_error(L, "math.random can only be called inside a script invocation");
    const int32_t max = 2147483647;
    lua_Number r = (lua_Number)(rand48_next(vm) % max) / (lua_Number)max;
    switch (lua_gettop(L)) {
    case 0:
        lua_pushnumber(L, r);
        break;
    case 1: {
        int u = luaL_checkint(L, 1);
        luaL_argcheck(L, 1 <= u, 1, "interval is empty");
        lua_pushnumber(L, floor(r * u) + 1);
        break;
    }
    case 2: {
        int l = luaL_checkint(L, 1);
        int u = luaL_checkint(L, 2);
        luaL_argcheck(L, l <= u, 2, "interval is empty");
        lua_pushnumber(L, floor(r * (u - l + 1)) + l);
        break;
    }
    default:
        return luaL_error(L, "wrong number of arguments");
    }
    return 1;
}

int math_randomseed(lua_State *L) {
    swiftlet_script_vm *vm = vm_of(L);
    if (!vm->running) return luaL_error(L, "math.randomseed can only be called inside a script invocation");
    rand48_seed(vm, luaL_checkint(L, 1));
    return 0;
}
