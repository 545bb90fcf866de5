// The Lua 5.1 interpreter as Redis 7.0 embeds it: its libraries, its sandbox, the `redis` API, and the conversions
// between Lua values and RESP. See include/CSwiftletScripting.h for the boundary with Swift.
//
// The sandbox. Redis 7.0 patches its Lua to mark tables read-only (`lua_enablereadonlytable`); Debian's Lua has no
// such flag, so the same protection is built from stock metatables:
//   - the values scripts see as globals live in a hidden table V; the thread's global table is an empty proxy P
//     whose metatable reads from V and refuses every write ("Attempt to modify a readonly table");
//   - V's own metatable raises "Script attempted to access nonexistent global variable" for a missing name;
//   - the library tables (redis, string, math, table, cjson, bit, struct, cmsgpack, coroutine) are replaced in V by
//     read-only proxies of the same kind, and strings' metatable indexes the `string` proxy;
//   - `rawset` and `setmetatable` refuse a read-only table with the same message (Redis's flag also stops them);
//   - the proxies' metatables are hidden behind `__metatable`.
// What differs from Redis: `rawget(_G, name)` and `pairs()` over a library table see an empty proxy.
#include "CSwiftletScripting.h"

#include <lua5.1/lauxlib.h>
#include <lua5.1/lua.h>
#include <lua5.1/lualib.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sha1.h"

extern int luaopen_cjson(lua_State *L);
extern int luaopen_bit(lua_State *L);
int swiftlet_luaopen_cmsgpack(lua_State *L);
int swiftlet_luaopen_struct(lua_State *L);

#define REDIS_VERSION "7.0.15"
#define REDIS_VERSION_NUM 0x0007000f
#define READONLY_ERROR "Attempt to modify a readonly table"

struct swiftlet_script_vm {
    lua_State *L;
    int kind;
    swiftlet_script_host host;
    /// Registry references: the hidden globals V, the proxy P, the read-only set, the error handler, the API table
    /// seen while a library loads (functions engine).
    int values_ref, proxy_ref, readonly_ref, handler_ref, library_api_ref;
    swiftlet_buffer reply, error, scratch;
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

// MARK: - Buffers

void swiftlet_buffer_append(swiftlet_buffer *buffer, const void *data, size_t length) {
    if (buffer->length + length > buffer->capacity) {
        size_t capacity = buffer->capacity ? buffer->capacity : 256;
        while (capacity < buffer->length + length) capacity *= 2;
        char *grown = realloc(buffer->data, capacity);
        if (!grown) abort();
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    if (length) memcpy(buffer->data + buffer->length, data, length);
    buffer->length += length;
}

static void buffer_text(swiftlet_buffer *buffer, const char *text) {
    swiftlet_buffer_append(buffer, text, strlen(text));
}

static void buffer_format(swiftlet_buffer *buffer, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void buffer_format(swiftlet_buffer *buffer, const char *format, ...) {
    char small[256];
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(small, sizeof(small), format, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof(small)) {
        swiftlet_buffer_append(buffer, small, (size_t)n);
        return;
    }
    char *large = malloc((size_t)n + 1);
    if (!large) abort();
    va_start(ap, format);
    vsnprintf(large, (size_t)n + 1, format, ap);
    va_end(ap);
    swiftlet_buffer_append(buffer, large, (size_t)n);
    free(large);
}

static swiftlet_script_vm *vm_of(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, "__swiftlet_vm__");
    swiftlet_script_vm *vm = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return vm;
}

// MARK: - Errors as Redis shapes them

/// Pushes Redis's error table {err = "CODE message"} for `text`: "-CODE message" keeps its code, anything else gets
/// ERR (luaPushErrorBuff). A trailing CR/LF is trimmed.
static void push_error_table(lua_State *L, const char *text, size_t length) {
    const char *code = "ERR";
    size_t code_length = 3;
    const char *message = text;
    size_t message_length = length;
    if (length > 0 && text[0] == '-') {
        const char *space = memchr(text, ' ', length);
        if (space) {
            code = text + 1;
            code_length = (size_t)(space - text) - 1;
            message = space + 1;
            message_length = length - (size_t)(message - text);
        } else {
            message = text + 1;
            message_length = length - 1;
        }
    }
    while (message_length > 0 && (message[message_length - 1] == '\r' || message[message_length - 1] == '\n')) {
        message_length--;
    }
    while (message_length > 0 && (message[0] == '\r' || message[0] == '\n')) {
        message++;
        message_length--;
    }
    lua_newtable(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, code, code_length);
    luaL_addchar(&b, ' ');
    luaL_addlstring(&b, message, message_length);
    luaL_pushresult(&b);
    lua_setfield(L, -2, "err");
}

static void push_error_text(lua_State *L, const char *text) { push_error_table(L, text, strlen(text)); }

static int raise_error_text(lua_State *L, const char *text) {
    push_error_text(L, text);
    return lua_error(L);
}

// MARK: - RESP to Lua (a command's reply inside the script)

/// Parses one RESP value at *p (the engine's own output, so well formed) and pushes it, or skips it when `push` is 0
/// (attributes). Conversion as Redis's redisProtocolToLuaType.
static const char *resp_line_end(const char *p) {
    const char *end = strchr(p, '\r');
    return end;
}

static long long resp_number(const char *p) { return strtoll(p, NULL, 10); }

static const char *parse_reply(lua_State *L, const char *p, int push);

static const char *parse_aggregate_items(lua_State *L, const char *p, long long count, int push, char type) {
    if (push) lua_checkstack(L, 4);
    if (type == '*' || type == '>') {
        if (push) lua_newtable(L);
        for (long long j = 0; j < count; j++) {
            if (push) lua_pushnumber(L, (lua_Number)(j + 1));
            p = parse_reply(L, p, push);
            if (push) lua_settable(L, -3);
        }
    } else if (type == '%') {
        if (push) {
            lua_newtable(L);
            lua_pushstring(L, "map");
            lua_newtable(L);
        }
        for (long long j = 0; j < count; j++) {
            p = parse_reply(L, p, push);
            p = parse_reply(L, p, push);
            if (push) lua_settable(L, -3);
        }
        if (push) lua_settable(L, -3);
    } else if (type == '~') {
        if (push) {
            lua_newtable(L);
            lua_pushstring(L, "set");
            lua_newtable(L);
        }
        for (long long j = 0; j < count; j++) {
            p = parse_reply(L, p, push);
            if (push) {
                lua_checkstack(L, 1);
                lua_pushboolean(L, 1);
                lua_settable(L, -3);
            }
        }
        if (push) lua_settable(L, -3);
    }
    return p;
}

static const char *parse_reply(lua_State *L, const char *p, int push) {
    if (push) lua_checkstack(L, 5);
    char type = *p;
    const char *end = resp_line_end(p);
    const char *next = end + 2;
    switch (type) {
    case ':':
        if (push) lua_pushnumber(L, (lua_Number)resp_number(p + 1));
        return next;
    case '$': {
        long long length = resp_number(p + 1);
        if (length < 0) {
            if (push) lua_pushboolean(L, 0);
            return next;
        }
        if (push) lua_pushlstring(L, next, (size_t)length);
        return next + length + 2;
    }
    case '+':
        if (push) {
            lua_newtable(L);
            lua_pushstring(L, "ok");
            lua_pushlstring(L, p + 1, (size_t)(end - p - 1));
            lua_settable(L, -3);
        }
        return next;
    case '-':
        if (push) {
            push_error_table(L, p, (size_t)(end - p));
            // Counted when the command replied: the script's final reply must not count it again.
            lua_pushboolean(L, 1);
            lua_setfield(L, -2, "ignore_error_stats_update");
        }
        return next;
    case '*':
    case '%':
    case '~':
    case '>': {
        long long count = resp_number(p + 1);
        if (count < 0) {
            if (push) lua_pushboolean(L, 0);
            return next;
        }
        return parse_aggregate_items(L, next, count, push, type);
    }
    case '|': {
        // Attributes are not shown to scripts: skip them, then parse the value they annotate.
        long long count = resp_number(p + 1);
        for (long long j = 0; j < count; j++) {
            next = parse_reply(L, next, 0);
            next = parse_reply(L, next, 0);
        }
        return parse_reply(L, next, push);
    }
    case '_':
        if (push) lua_pushnil(L);
        return next;
    case '#':
        if (push) lua_pushboolean(L, p[1] == 't');
        return next;
    case ',': {
        if (push) {
            char number[128];
            size_t n = (size_t)(end - p - 1);
            if (n >= sizeof(number)) n = sizeof(number) - 1;
            memcpy(number, p + 1, n);
            number[n] = 0;
            lua_newtable(L);
            lua_pushstring(L, "double");
            lua_pushnumber(L, strtod(number, NULL));
            lua_settable(L, -3);
        }
        return next;
    }
    case '(':
        if (push) {
            lua_newtable(L);
            lua_pushstring(L, "big_number");
            lua_pushlstring(L, p + 1, (size_t)(end - p - 1));
            lua_settable(L, -3);
        }
        return next;
    case '=': {
        long long length = resp_number(p + 1);
        if (push) {
            lua_newtable(L);
            lua_pushstring(L, "verbatim_string");
            lua_newtable(L);
            lua_pushstring(L, "string");
            lua_pushlstring(L, next + 4, (size_t)(length - 4));
            lua_settable(L, -3);
            lua_pushstring(L, "format");
            lua_pushlstring(L, next, 3);
            lua_settable(L, -3);
            lua_settable(L, -3);
        }
        return next + length + 2;
    }
    default:
        if (push) lua_pushnil(L);
        return next;
    }
}

// MARK: - Lua to RESP (the script's value, for its caller)

static void write_bulk(swiftlet_buffer *out, const char *data, size_t length) {
    buffer_format(out, "$%zu\r\n", length);
    swiftlet_buffer_append(out, data, length);
    swiftlet_buffer_append(out, "\r\n", 2);
}

static void write_null(swiftlet_buffer *out, int resp) { buffer_text(out, resp == 2 ? "$-1\r\n" : "_\r\n"); }

/// Copies `text` with CR and LF made spaces (status lines and error texts stay one line).
static void write_line(swiftlet_buffer *out, const char *text, size_t length) {
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (c == '\r' || c == '\n') c = ' ';
        swiftlet_buffer_append(out, &c, 1);
    }
}

static void write_double(swiftlet_buffer *out, double d, int resp) {
    char text[64];
    if (isinf(d)) {
        snprintf(text, sizeof(text), "%s", d > 0 ? "inf" : "-inf");
    } else {
        snprintf(text, sizeof(text), "%.17g", d);
    }
    if (resp == 2) {
        write_bulk(out, text, strlen(text));
    } else {
        buffer_format(out, ",%s\r\n", text);
    }
}

/// Inserts an aggregate header at `at` once its length is known (Redis's deferred length).
static void insert_header(swiftlet_buffer *out, size_t at, char type, long count) {
    char header[32];
    int n = snprintf(header, sizeof(header), "%c%ld\r\n", type, count);
    swiftlet_buffer_append(out, header, (size_t)n);  // grow
    memmove(out->data + at + n, out->data + at, out->length - at - (size_t)n);
    memcpy(out->data + at, header, (size_t)n);
}

/// Error texts of an error table (luaExtractErrorInformation).
typedef struct {
    const char *msg;
    size_t msg_length;
    const char *source;
    const char *line;
    int ignore_stats;
} error_info;

/// Converts the value on top of the stack (consumed) as luaReplyToRedisReply: `script_resp` is the script's
/// protocol (redis.setresp), `resp` the caller's. Returns 1 when an error reply was written, with `*counted` set
/// when its statistics were already counted.
static int write_value(lua_State *L, swiftlet_buffer *out, int script_resp, int resp, int *counted) {
    int t = lua_type(L, -1);
    if (!lua_checkstack(L, 4)) {
        buffer_text(out, "-ERR reached lua stack limit\r\n");
        lua_pop(L, 1);
        return 1;
    }
    int error = 0;
    switch (t) {
    case LUA_TSTRING: {
        size_t length;
        const char *s = lua_tolstring(L, -1, &length);
        write_bulk(out, s, length);
        break;
    }
    case LUA_TBOOLEAN:
        if (script_resp == 2) {
            if (lua_toboolean(L, -1)) {
                buffer_text(out, ":1\r\n");
            } else {
                write_null(out, resp);
            }
        } else if (resp == 2) {
            buffer_text(out, lua_toboolean(L, -1) ? ":1\r\n" : ":0\r\n");
        } else {
            buffer_text(out, lua_toboolean(L, -1) ? "#t\r\n" : "#f\r\n");
        }
        break;
    case LUA_TNUMBER:
        buffer_format(out, ":%lld\r\n", (long long)lua_tonumber(L, -1));
        break;
    case LUA_TTABLE: {
        lua_pushstring(L, "err");
        lua_rawget(L, -2);
        if (lua_type(L, -1) == LUA_TSTRING) {
            size_t length;
            const char *s = lua_tolstring(L, -1, &length);
            lua_pop(L, 1);
            lua_getfield(L, -1, "ignore_error_stats_update");
            if (lua_isboolean(L, -1) && lua_toboolean(L, -1)) *counted = 1;
            lua_pop(L, 1);
            swiftlet_buffer_append(out, "-", 1);
            // addReplyErrorFormatEx: trailing CR/LF trimmed, the others made spaces.
            while (length > 0 && (s[length - 1] == '\r' || s[length - 1] == '\n')) length--;
            size_t start = 0;
            while (start < length && (s[start] == '\r' || s[start] == '\n')) start++;
            write_line(out, s + start, length - start);
            swiftlet_buffer_append(out, "\r\n", 2);
            lua_pop(L, 1);
            return 1;
        }
        lua_pop(L, 1);

        lua_pushstring(L, "ok");
        lua_rawget(L, -2);
        if (lua_type(L, -1) == LUA_TSTRING) {
            size_t length;
            const char *s = lua_tolstring(L, -1, &length);
            swiftlet_buffer_append(out, "+", 1);
            write_line(out, s, strnlen(s, length));
            swiftlet_buffer_append(out, "\r\n", 2);
            lua_pop(L, 2);
            return 0;
        }
        lua_pop(L, 1);

        lua_pushstring(L, "double");
        lua_rawget(L, -2);
        if (lua_type(L, -1) == LUA_TNUMBER) {
            write_double(out, lua_tonumber(L, -1), resp);
            lua_pop(L, 2);
            return 0;
        }
        lua_pop(L, 1);

        lua_pushstring(L, "big_number");
        lua_rawget(L, -2);
        if (lua_type(L, -1) == LUA_TSTRING) {
            size_t length;
            const char *s = lua_tolstring(L, -1, &length);
            if (resp == 2) {
                // RESP2 has no big numbers: a bulk string (CR/LF made spaces first, as Redis does).
                buffer_format(out, "$%zu\r\n", length);
                write_line(out, s, length);
                swiftlet_buffer_append(out, "\r\n", 2);
            } else {
                swiftlet_buffer_append(out, "(", 1);
                write_line(out, s, length);
                swiftlet_buffer_append(out, "\r\n", 2);
            }
            lua_pop(L, 2);
            return 0;
        }
        lua_pop(L, 1);

        lua_pushstring(L, "verbatim_string");
        lua_rawget(L, -2);
        if (lua_type(L, -1) == LUA_TTABLE) {
            lua_pushstring(L, "format");
            lua_rawget(L, -2);
            if (lua_type(L, -1) == LUA_TSTRING) {
                const char *format = lua_tostring(L, -1);
                lua_pushstring(L, "string");
                lua_rawget(L, -3);
                if (lua_type(L, -1) == LUA_TSTRING) {
                    size_t length;
                    const char *s = lua_tolstring(L, -1, &length);
                    if (resp == 2) {
                        write_bulk(out, s, length);
                    } else {
                        // addReplyVerbatim: the format is the first three bytes of the given one, padded.
                        char ext[3] = {' ', ' ', ' '};
                        for (int i = 0; i < 3 && format[i]; i++) ext[i] = format[i];
                        buffer_format(out, "=%zu\r\n", length + 4);
                        swiftlet_buffer_append(out, ext, 3);
                        swiftlet_buffer_append(out, ":", 1);
                        swiftlet_buffer_append(out, s, length);
                        swiftlet_buffer_append(out, "\r\n", 2);
                    }
                    lua_pop(L, 4);
                    return 0;
                }
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);

        lua_pushstring(L, "map");
        lua_rawget(L, -2);
        if (lua_type(L, -1) == LUA_TTABLE) {
            size_t at = out->length;
            long count = 0;
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                lua_pushvalue(L, -2);
                write_value(L, out, script_resp, resp, counted);
                write_value(L, out, script_resp, resp, counted);
                count++;
            }
            if (resp == 2) {
                insert_header(out, at, '*', count * 2);
            } else {
                insert_header(out, at, '%', count);
            }
            lua_pop(L, 2);
            return 0;
        }
        lua_pop(L, 1);

        lua_pushstring(L, "set");
        lua_rawget(L, -2);
        if (lua_type(L, -1) == LUA_TTABLE) {
            size_t at = out->length;
            long count = 0;
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                lua_pop(L, 1);
                lua_pushvalue(L, -1);
                write_value(L, out, script_resp, resp, counted);
                count++;
            }
            insert_header(out, at, resp == 2 ? '*' : '~', count);
            lua_pop(L, 2);
            return 0;
        }
        lua_pop(L, 1);

        size_t at = out->length;
        long count = 0;
        for (int j = 1;; j++) {
            lua_pushnumber(L, j);
            lua_rawget(L, -2);
            if (lua_type(L, -1) == LUA_TNIL) {
                lua_pop(L, 1);
                break;
            }
            write_value(L, out, script_resp, resp, counted);
            count++;
        }
        insert_header(out, at, '*', count);
        break;
    }
    default:
        write_null(out, resp);
    }
    lua_pop(L, 1);
    return error;
}

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
    swiftlet_bytes *argv = lua_newuserdata(L, sizeof(swiftlet_bytes) * (size_t)argc);
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

static int redis_call(lua_State *L) { return redis_generic_call(L, 1); }
static int redis_pcall(lua_State *L) { return redis_generic_call(L, 0); }

/// The global `pcall`: Lua's, except that an error table (Redis 7's error object) is returned as its message, as
/// older Redis versions returned strings (luaRedisPcall).
static int lua_pcall_compat(lua_State *L) {
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

static int redis_sha1hex(lua_State *L) {
    if (lua_gettop(L) != 1) return raise_error_text(L, "wrong number of arguments");
    size_t length;
    const char *s = lua_tolstring(L, 1, &length);
    char digest[41];
    swiftlet_sha1_hex(digest, s ? s : "", s ? length : 0);
    lua_pushstring(L, digest);
    return 1;
}

static int redis_error_reply(lua_State *L) {
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

static int redis_status_reply(lua_State *L) {
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

static int redis_set_repl(lua_State *L) {
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

static int redis_acl_check_cmd(lua_State *L) {
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

static int redis_log(lua_State *L) {
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
        const char *s = lua_tolstring(L, (-argc) + j, &length);
        if (s) {
            // The buffer sits on the stack above the arguments: index from the bottom.
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

static int redis_setresp(lua_State *L) {
    swiftlet_script_vm *vm = vm_of(L);
    if (!vm->running) return raise_error_text(L, "redis.setresp can only be called inside a script invocation");
    if (lua_gettop(L) != 1) return raise_error_text(L, "redis.setresp() requires one argument.");
    int resp = (int)lua_tonumber(L, -1);
    if (resp != 2 && resp != 3) return raise_error_text(L, "RESP version must be 2 or 3.");
    vm->resp = resp;
    return 0;
}

static int redis_breakpoint(lua_State *L) {
    lua_pushboolean(L, 0);  // no debugging session (SCRIPT DEBUG) is ever active
    return 1;
}

static int redis_debug(lua_State *L) {
    (void)L;
    return 0;
}

static int redis_replicate_commands(lua_State *L) {
    lua_pushboolean(L, 1);
    return 1;
}

// MARK: - math.random as Redis has it (rand48, the same sequence on every platform)

static int32_t rand48_next(swiftlet_script_vm *vm) {
    vm->rand_state = (vm->rand_state * 0x5DEECE66DULL + 0xB) & ((1ULL << 48) - 1);
    return (int32_t)(vm->rand_state >> 17);
}

static void rand48_seed(swiftlet_script_vm *vm, int32_t seed) {
    vm->rand_state = ((uint64_t)(uint32_t)seed << 16) | 0x330E;
}

static int math_random(lua_State *L) {
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

static int math_randomseed(lua_State *L) {
    swiftlet_script_vm *vm = vm_of(L);
    if (!vm->running) return luaL_error(L, "math.randomseed can only be called inside a script invocation");
    rand48_seed(vm, luaL_checkint(L, 1));
    return 0;
}

// MARK: - Read-only tables

static int readonly_newindex(lua_State *L) { return luaL_error(L, READONLY_ERROR); }

/// The same error raised from inside a C API call (rawset, setmetatable): Redis's check sits in lapi.c, where the
/// running function is C, so the message carries no position.
static int readonly_error_bare(lua_State *L) {
    lua_pushstring(L, READONLY_ERROR);
    return lua_error(L);
}

static int nonexistent_global(lua_State *L) {
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
static int guarded_rawset(lua_State *L) {
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
static int load_text(lua_State *L, const char *chunk, size_t length, const char *name) {
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
static int text_loadstring(lua_State *L) {
    size_t length;
    const char *s = luaL_checklstring(L, 1, &length);
    const char *name = luaL_optstring(L, 2, s);
    if (load_text(L, s, length, name) == 0) return 1;
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

/// `load` (lbaselib's) over load_text: the pieces the function returns are joined first.
static int text_load(lua_State *L) {
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
static int guarded_setmetatable(lua_State *L) {
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
/// table and refuses writes. The proxy's metatable is hidden behind `__metatable` (itself an empty read-only table).
static void make_readonly_proxy(lua_State *L, swiftlet_script_vm *vm) {
    lua_newtable(L);  // proxy
    lua_newtable(L);  // its metatable
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, readonly_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_getfield(L, LUA_REGISTRYINDEX, "__swiftlet_hidden_mt__");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_remove(L, -2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->readonly_ref);
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

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

static int register_function(lua_State *L);

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

    // The weak set of read-only tables, and the hidden metatable every proxy shows.
    lua_newtable(L);
    lua_newtable(L);
    lua_pushstring(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    vm->readonly_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L);
    lua_newtable(L);
    lua_pushcfunction(L, readonly_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "__swiftlet_hidden_mt__");
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->readonly_ref);
    lua_insert(L, -2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);

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
    const char *removed[] = {"dofile", "loadfile", "print", "module", "require", "package", NULL};
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
    lua_getfield(L, LUA_REGISTRYINDEX, "__swiftlet_hidden_mt__");
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
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->readonly_ref);
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 1);
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

swiftlet_script_vm *swiftlet_vm_create(int kind, swiftlet_script_host host) {
    swiftlet_script_vm *vm = calloc(1, sizeof(*vm));
    if (!vm) return NULL;
    vm->kind = kind;
    vm->host = host;
    vm->resp = 2;
    rand48_seed(vm, 0);
    vm->rand_state = ((uint64_t)0x1234 << 32) | ((uint64_t)0xABCD << 16) | 0x330E;  // rand48's initial state
    vm->L = luaL_newstate();
    if (!vm->L) {
        free(vm);
        return NULL;
    }
    if (lua_cpcall(vm->L, create_protected, vm) != 0) {
        lua_close(vm->L);
        free(vm);
        return NULL;
    }
    return vm;
}

static void clear_loaded(swiftlet_script_vm *vm) {
    for (int i = 0; i < vm->loaded_count; i++) {
        free(vm->loaded[i].name);
        free(vm->loaded[i].description);
    }
    vm->loaded_count = 0;
}

void swiftlet_vm_destroy(swiftlet_script_vm *vm) {
    if (!vm) return;
    lua_close(vm->L);
    clear_loaded(vm);
    free(vm->loaded);
    free(vm->reply.data);
    free(vm->error.data);
    free(vm->scratch.data);
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
static void restore_globals(lua_State *L, swiftlet_script_vm *vm) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->proxy_ref);
    lua_replace(L, LUA_GLOBALSINDEX);
}

// MARK: - Defining and running scripts

struct define_args {
    swiftlet_script_vm *vm;
    const char *name, *body;
    size_t length, skip;
    int status;
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
        a->status = -1;
        return 0;
    }
    lua_setfield(L, LUA_REGISTRYINDEX, a->name);
    a->status = 0;
    return 0;
}

int swiftlet_vm_define(swiftlet_script_vm *vm, const char *name, const char *body, size_t length, size_t skip) {
    struct define_args a = {vm, name, body, length, skip, -1};
    if (lua_cpcall(vm->L, define_protected, &a) != 0) {
        vm->error.length = 0;
        buffer_text(&vm->error, "Error compiling script (new function): out of memory");
        lua_pop(vm->L, 1);
        return -1;
    }
    return a.status;
}

int swiftlet_vm_has(swiftlet_script_vm *vm, const char *name) {
    lua_getfield(vm->L, LUA_REGISTRYINDEX, name);
    int found = !lua_isnil(vm->L, -1);
    lua_pop(vm->L, 1);
    return found;
}

static int undefine_protected(lua_State *L) {
    const char *name = lua_touserdata(L, 1);
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, name);
    return 0;
}

void swiftlet_vm_undefine(swiftlet_script_vm *vm, const char *name) {
    if (lua_cpcall(vm->L, undefine_protected, (void *)name) != 0) lua_pop(vm->L, 1);
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
    lua_getfield(L, LUA_REGISTRYINDEX, a->name);
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
    if (a->hook) lua_sethook(L, NULL, 0, 0);
    vm->running = 0;
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
    swiftlet_script_vm *vm, const char *name, const char *label, const swiftlet_bytes *keys, int nkeys,
    const swiftlet_bytes *args, int nargs, int caller_resp, int hook) {
    struct run_args a = {vm, name, label, keys, args, nkeys, nargs, caller_resp, hook, SWIFTLET_RUN_ERROR};
    vm->running = 1;
    vm->resp = 2;  // each script starts in RESP2 (scriptPrepareForRun)
    vm->in_call = 0;
    if (lua_cpcall(vm->L, run_protected, &a) != 0) {
        lua_sethook(vm->L, NULL, 0, 0);
        const char *message = lua_tostring(vm->L, -1);
        vm->reply.length = 0;
        buffer_format(&vm->reply, "-ERR Error running script %s, %.100s\r\n", label, message ? message : "?");
        lua_pop(vm->L, 1);
        a.status = SWIFTLET_RUN_ERROR;
    }
    vm->running = 0;
    return a.status;
}

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
static int register_function(lua_State *L) {
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
