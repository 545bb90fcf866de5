// RESP <-> Lua: a command's reply as Lua values inside the script (redisProtocolToLuaType), and the script's
// value as RESP for its caller (luaReplyToRedisReply), for RESP2 and RESP3.
#include "vm_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sha1.h"

// MARK: - RESP to Lua (a command's reply inside the script)

/// Parses one RESP value at *p (the engine's own output, so well formed) and pushes it, or skips it when `push` is 0
/// (attributes). Conversion as Redis's redisProtocolToLuaType.
static const char *resp_line_end(const char *p) {
    const char *end = strchr(p, '\r');
    return end;
}

static long long resp_number(const char *p) { return strtoll(p, NULL, 10); }

const char *parse_reply(lua_State *L, const char *p, int push);

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

const char *parse_reply(lua_State *L, const char *p, int push) {
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
void write_line(swiftlet_buffer *out, const char *text, size_t length) {
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
int write_value(lua_State *L, swiftlet_buffer *out, int script_resp, int resp, int *counted) {
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
