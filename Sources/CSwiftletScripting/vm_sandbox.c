// The read-only sandbox built from stock metatables (see vm.c's header), and text-only chunk loading.
#include "vm_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sha1.h"

// MARK: - Read-only tables

int readonly_newindex(lua_State *L) { return luaL_error(L, READONLY_ERROR); }

/// The same error raised from inside a C API call (rawset, setmetatable): Redis's check sits in lapi.c, where the
/// running function is C, so the message carries no position.
static int readonly_error_bare(lua_State *L) {
    lua_pushstring(L, READONLY_ERROR);
    return lua_error(L);
}

int nonexistent_global(lua_State *L) {
    const char *name = lua_tostring(L, 2);
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'", name ? name : "?");
}

static int is_readonly(lua_State *L, int index) {
    swiftlet_script_vm *vm = vm_of(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->readonly_ref);
    lua_pushvalue(L, index > 0 ? index : index - 1);
    lua_rawget(L, -2);
    int readonly = lua_toboolean(L, -1);
    lua_pop(L, 2);
    return readonly;
}

/// `rawset` (lbaselib's), refusing a read-only table.
int guarded_rawset(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    if (is_readonly(L, 1)) return readonly_error_bare(L);
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 1;
}

/// luaL_loadbuffer for text only. Redis 7.0.15's Lua no longer loads precompiled chunks: its parser reads every chunk
/// as source, so a binary one fails as a syntax error ("unexpected symbol near '<\\27>'"). A binary chunk is parsed
/// here with one space in front, which gives the same error at the same line.
int load_text(lua_State *L, const char *chunk, size_t length, const char *name) {
    if (length == 0 || chunk[0] != LUA_SIGNATURE[0]) return luaL_loadbuffer(L, chunk, length, name);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addchar(&b, ' ');
    luaL_addlstring(&b, chunk, length);
    luaL_pushresult(&b);
    size_t n;
    const char *padded = lua_tolstring(L, -1, &n);
    int status = luaL_loadbuffer(L, padded, n, name);
    lua_remove(L, -2);
    return status;
}

/// `loadstring` (lbaselib's) over load_text.
int text_loadstring(lua_State *L) {
    size_t length;
    const char *s = luaL_checklstring(L, 1, &length);
    const char *name = luaL_optstring(L, 2, s);
    if (load_text(L, s, length, name) == 0) return 1;
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

/// `load` (lbaselib's) over load_text: the pieces the function returns are joined first.
int text_load(lua_State *L) {
    const char *name = luaL_optstring(L, 2, "=(load)");
    luaL_checktype(L, 1, LUA_TFUNCTION);
    luaL_Buffer b;
    lua_settop(L, 2);
    luaL_buffinit(L, &b);
    for (;;) {
        lua_pushvalue(L, 1);
        lua_call(L, 0, 1);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            break;
        }
        if (!lua_isstring(L, -1)) {
            luaL_pushresult(&b);
            lua_pushnil(L);
            lua_pushstring(L, "reader function must return a string");
            return 2;
        }
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    size_t length;
    const char *chunk = lua_tolstring(L, -1, &length);
    if (load_text(L, chunk, length, name) == 0) return 1;
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

/// `setmetatable` (lbaselib's), refusing a read-only table.
int guarded_setmetatable(lua_State *L) {
    int t = lua_type(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argcheck(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table expected");
    if (is_readonly(L, 1)) return readonly_error_bare(L);
    if (luaL_getmetafield(L, 1, "__metatable")) luaL_error(L, "cannot change a protected metatable");
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

/// Replaces the table on top of the stack by a read-only proxy of it: an empty table whose metatable reads from the
/// table and refuses writes. `getmetatable` shows nil for it (its `__metatable` is false, which the wrapper below
/// turns into nil), as Redis's library tables have no metatable; `next`, `pairs`, `ipairs` and `rawget` see through
/// it to the table (without ever handing the table itself to the script).
void make_readonly_proxy(lua_State *L, swiftlet_script_vm *vm) {
    lua_newtable(L);  // proxy
    lua_newtable(L);  // its metatable
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, readonly_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    // proxy -> table, for the see-through functions.
    lua_getfield(L, LUA_REGISTRYINDEX, "__swiftlet_proxied__");
    lua_pushvalue(L, -2);
    lua_pushvalue(L, -4);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_remove(L, -2);
    mark_readonly(L, vm, -1);
}

void mark_readonly(lua_State *L, swiftlet_script_vm *vm, int index) {
    index = index > 0 ? index : lua_gettop(L) + index + 1;
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->readonly_ref);
    lua_pushvalue(L, index);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/// Replaces the value at `index` by the table it proxies, when it is a read-only proxy.
static void see_through(lua_State *L, int index) {
    if (lua_type(L, index) != LUA_TTABLE) return;
    lua_getfield(L, LUA_REGISTRYINDEX, "__swiftlet_proxied__");
    lua_pushvalue(L, index);
    lua_rawget(L, -2);
    if (lua_istable(L, -1)) {
        lua_replace(L, index);
        lua_pop(L, 1);
    } else {
        lua_pop(L, 2);
    }
}

/// `next` (lbaselib's), through proxies.
int see_through_next(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    see_through(L, 1);
    if (lua_next(L, 1)) return 2;
    lua_pushnil(L);
    return 1;
}

/// `pairs` (lbaselib's), iterating with the `next` above.
int see_through_pairs(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushcfunction(L, see_through_next);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int ipairs_step(lua_State *L) {
    int i = luaL_checkint(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    see_through(L, 1);
    i++;
    lua_pushinteger(L, i);
    lua_rawgeti(L, 1, i);
    return lua_isnil(L, -1) ? 0 : 2;
}

/// `ipairs` (lbaselib's), through proxies.
int see_through_ipairs(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushcfunction(L, ipairs_step);
    lua_pushvalue(L, 1);
    lua_pushinteger(L, 0);
    return 3;
}

/// `rawget` (lbaselib's), through proxies.
int see_through_rawget(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    lua_settop(L, 2);
    see_through(L, 1);
    lua_rawget(L, 1);
    return 1;
}

/// `getmetatable` (lbaselib's): a `__metatable` of false (a library proxy's) shows as nil.
int guarded_getmetatable(lua_State *L) {
    luaL_checkany(L, 1);
    if (!lua_getmetatable(L, 1)) {
        lua_pushnil(L);
        return 1;
    }
    luaL_getmetafield(L, 1, "__metatable");
    if (lua_isboolean(L, -1) && !lua_toboolean(L, -1)) {
        lua_pushnil(L);
        return 1;
    }
    return 1;
}
