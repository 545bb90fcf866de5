// MessagePack for Lua 5.1 scripts: the `cmsgpack` library that Redis scripts expect.
//
// An independent implementation that behaves like the lua-cmsgpack 0.4.0 Redis 7.0 embeds, edge cases included:
//
//   cmsgpack.pack(v1, v2, ...)                  -> the encodings of every argument, concatenated
//   cmsgpack.unpack(s)                          -> every value encoded in s
//   cmsgpack.unpack_one(s [, offset])           -> next_offset, value
//   cmsgpack.unpack_limit(s, limit [, offset])  -> next_offset, up to `limit` values
//
// next_offset is -1 once the whole input has been consumed. Encoding rules: integral numbers that fit an int64 use
// the smallest integer form; other numbers use float32 when that is exact, else float64; strings use fixstr, str8,
// str16 or str32 (never bin); a table whose keys are exactly 1..n is an array, anything else a map; tables nested
// 16 deep encode as nil, which is what makes cyclic tables safe; functions, userdata and threads encode as nil.
// Decoding understands nil, booleans, every int and uint width, float32/float64, fixstr and str8/16/32, arrays and
// maps; bin, ext and the reserved 0xc1 are "Bad data format in input.".
//
// Stack use and the order of the checks follow the reference closely, so the "stack overflow (...)" errors that very
// large inputs run into come at the same points with the same text (which names functions of the reference; the
// names are kept verbatim as part of the messages).

#include <lua5.1/lua.h>
#include <lua5.1/lauxlib.h>

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

int swiftlet_luaopen_cmsgpack(lua_State *L);

// Integers decode through lua_pushinteger as in the reference on 64-bit platforms, where lua_Integer has 64 bits.
_Static_assert(sizeof(lua_Integer) == 8, "lua_Integer must have 64 bits");

// Tables nested deeper than this are encoded as nil.
#define MP_MAX_NESTING 16

// 2^63: numbers in [-2^63, 2^63) with an integral value are encoded as integers.
#define MP_TWO_POW_63 9223372036854775808.0

// MARK: - Output buffer

// The bytes being produced by pack. They live in memory owned by a userdata with a __gc metamethod, so an error raised
// half way (out of memory, a stack overflow) cannot leak them: the collector frees the block later.
typedef struct mp_buffer {
    unsigned char *bytes;
    size_t length;
    size_t capacity;
} mp_buffer;

typedef struct mp_writer {
    lua_State *L;
    mp_buffer *buffer;
} mp_writer;

static void mp_buffer_release(lua_State *L, mp_buffer *buffer) {
    if (buffer->bytes != NULL) {
        void *ud;
        lua_Alloc alloc = lua_getallocf(L, &ud);
        alloc(ud, buffer->bytes, buffer->capacity, 0);
    }
    buffer->bytes = NULL;
    buffer->length = 0;
    buffer->capacity = 0;
}

static int mp_buffer_gc(lua_State *L) {
    mp_buffer *buffer = lua_touserdata(L, 1);
    if (buffer != NULL) mp_buffer_release(L, buffer);
    return 0;
}

static void mp_write(mp_writer *w, const void *data, size_t count) {
    mp_buffer *buffer = w->buffer;
    if (count == 0) return;
    if (buffer->capacity - buffer->length < count) {
        size_t needed = buffer->length + count;
        if (needed < buffer->length || needed > SIZE_MAX / 2) {
            luaL_error(w->L, "MessagePack output too large");
        }
        size_t capacity = buffer->capacity < 64 ? 64 : buffer->capacity;
        while (capacity < needed) capacity *= 2;
        void *ud;
        lua_Alloc alloc = lua_getallocf(w->L, &ud);
        unsigned char *grown = alloc(ud, buffer->bytes, buffer->capacity, capacity);
        if (grown == NULL) {
            lua_pushliteral(w->L, "not enough memory");
            lua_error(w->L);
        }
        buffer->bytes = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->bytes + buffer->length, data, count);
    buffer->length += count;
}

// Writes a type byte followed by `width` bytes of `value`, most significant first.
static void mp_write_typed(mp_writer *w, unsigned char type, uint64_t value, int width) {
    unsigned char bytes[9];
    bytes[0] = type;
    for (int i = width; i >= 1; i--) {
        bytes[i] = (unsigned char)(value & 0xff);
        value >>= 8;
    }
    mp_write(w, bytes, (size_t)width + 1);
}

// MARK: - Encoding

static void mp_encode_integer(mp_writer *w, int64_t n) {
    if (n >= 0) {
        if (n <= 0x7f) {
            mp_write_typed(w, (unsigned char)n, 0, 0);  // positive fixint
        } else if (n <= 0xff) {
            mp_write_typed(w, 0xcc, (uint64_t)n, 1);
        } else if (n <= 0xffff) {
            mp_write_typed(w, 0xcd, (uint64_t)n, 2);
        } else if (n <= 0xffffffffLL) {
            mp_write_typed(w, 0xce, (uint64_t)n, 4);
        } else {
            mp_write_typed(w, 0xcf, (uint64_t)n, 8);
        }
    } else {
        if (n >= -32) {
            mp_write_typed(w, (unsigned char)(n & 0xff), 0, 0);  // negative fixint
        } else if (n >= INT8_MIN) {
            mp_write_typed(w, 0xd0, (uint64_t)n & 0xff, 1);
        } else if (n >= INT16_MIN) {
            mp_write_typed(w, 0xd1, (uint64_t)n & 0xffff, 2);
        } else if (n >= INT32_MIN) {
            mp_write_typed(w, 0xd2, (uint64_t)n & 0xffffffff, 4);
        } else {
            mp_write_typed(w, 0xd3, (uint64_t)n, 8);
        }
    }
}

// float32 when the value survives the round trip through float (infinities do, NaN never does), float64 otherwise.
static void mp_encode_double(mp_writer *w, double d) {
    float f = (float)d;
    if ((double)f == d) {
        uint32_t bits;
        memcpy(&bits, &f, sizeof bits);
        mp_write_typed(w, 0xca, bits, 4);
    } else {
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        mp_write_typed(w, 0xcb, bits, 8);
    }
}

static void mp_encode_string(mp_writer *w, const char *s, size_t length) {
    if (length < 32) {
        mp_write_typed(w, (unsigned char)(0xa0 | length), 0, 0);
    } else if (length <= 0xff) {
        mp_write_typed(w, 0xd9, length, 1);
    } else if (length <= 0xffff) {
        mp_write_typed(w, 0xda, length, 2);
    } else {
        mp_write_typed(w, 0xdb, length & 0xffffffff, 4);
    }
    mp_write(w, s, length);
}

// Container headers; counts above 2^32-1 cannot be represented and are truncated, as in the reference.
static void mp_encode_header(mp_writer *w, unsigned char fix, unsigned char type16, uint64_t count) {
    if (count <= 15) {
        mp_write_typed(w, (unsigned char)(fix | count), 0, 0);
    } else if (count <= 0xffff) {
        mp_write_typed(w, type16, count, 2);
    } else {
        mp_write_typed(w, (unsigned char)(type16 + 1), count & 0xffffffff, 4);
    }
}

static void mp_encode_value(mp_writer *w, int level);

// True when the table on the top of the stack has exactly the keys 1..n (an empty table included). Keys must be
// numbers with an integral value in 1..INT_MAX; then, keys being distinct, max == count means no holes.
static int mp_table_is_array(lua_State *L) {
    int top = lua_gettop(L);
    int count = 0;
    int max = 0;
    luaL_checkstack(L, 2, "in function table_is_an_array");
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TNUMBER) {
            lua_settop(L, top);
            return 0;
        }
        lua_Number key = lua_tonumber(L, -1);
        if (!(key > 0 && key <= INT_MAX && key == floor(key))) {
            lua_settop(L, top);
            return 0;
        }
        if ((int)key > max) max = (int)key;
        count++;
    }
    lua_settop(L, top);
    return max == count;
}

static void mp_encode_array(mp_writer *w, int level) {
    lua_State *L = w->L;
    size_t length = lua_objlen(L, -1);
    mp_encode_header(w, 0x90, 0xdc, length);
    luaL_checkstack(L, 1, "in function mp_encode_lua_table_as_array");
    for (size_t i = 1; i <= length; i++) {
        lua_pushnumber(L, (lua_Number)i);
        lua_gettable(L, -2);
        mp_encode_value(w, level + 1);
    }
}

static void mp_encode_map(mp_writer *w, int level) {
    lua_State *L = w->L;
    size_t count = 0;
    luaL_checkstack(L, 3, "in function mp_encode_lua_table_as_map");
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        count++;
    }
    mp_encode_header(w, 0x80, 0xde, count);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pushvalue(L, -2);             // key value key
        mp_encode_value(w, level + 1);    // the key copy; leaves key value
        mp_encode_value(w, level + 1);    // the value; leaves key for lua_next
    }
}

// Encodes the value on the top of the stack and pops it.
static void mp_encode_value(mp_writer *w, int level) {
    lua_State *L = w->L;
    int type = lua_type(L, -1);
    if (type == LUA_TTABLE && level == MP_MAX_NESTING) type = LUA_TNIL;
    switch (type) {
    case LUA_TSTRING: {
        size_t length;
        const char *s = lua_tolstring(L, -1, &length);
        mp_encode_string(w, s, length);
        break;
    }
    case LUA_TBOOLEAN:
        mp_write_typed(w, lua_toboolean(L, -1) ? 0xc3 : 0xc2, 0, 0);
        break;
    case LUA_TNUMBER: {
        lua_Number n = lua_tonumber(L, -1);
        if (n >= -MP_TWO_POW_63 && n < MP_TWO_POW_63 && n == floor(n)) {
            mp_encode_integer(w, (int64_t)n);
        } else {
            mp_encode_double(w, n);
        }
        break;
    }
    case LUA_TTABLE:
        if (mp_table_is_array(L)) {
            mp_encode_array(w, level);
        } else {
            mp_encode_map(w, level);
        }
        break;
    default:
        mp_write_typed(w, 0xc0, 0, 0);
        break;
    }
    lua_pop(L, 1);
}

// cmsgpack.pack(...): upvalue 1 is the metatable of the buffer userdata.
//
// The stack is kept exactly as deep as the reference keeps it (all the arguments, plus one string per argument
// already encoded, which it concatenates at the end), so that the "stack overflow" errors of calls with thousands of
// arguments happen at the same points. Once the first argument has been copied for encoding, the buffer takes its
// slot, and a placeholder stands for each encoded argument.
static int mp_pack(lua_State *L) {
    int nargs = lua_gettop(L);
    if (nargs == 0) return luaL_argerror(L, 0, "MessagePack pack needs input.");
    if (!lua_checkstack(L, nargs)) return luaL_argerror(L, 0, "Too many arguments for MessagePack pack.");

    mp_writer writer = {L, NULL};
    for (int i = 1; i <= nargs; i++) {
        luaL_checkstack(L, 1, "in function mp_check");
        lua_pushvalue(L, i);
        if (i == 1) {
            mp_buffer *buffer = lua_newuserdata(L, sizeof *buffer);
            buffer->bytes = NULL;
            buffer->length = 0;
            buffer->capacity = 0;
            lua_pushvalue(L, lua_upvalueindex(1));
            lua_setmetatable(L, -2);
            lua_replace(L, 1);
            writer.buffer = buffer;
        }
        mp_encode_value(&writer, 0);
        lua_pushboolean(L, 0);  // the placeholder
    }
    lua_settop(L, 1);
    lua_pushlstring(L, (const char *)writer.buffer->bytes, writer.buffer->length);
    mp_buffer_release(L, writer.buffer);  // now rather than at the next collection
    return 1;
}

// MARK: - Decoding

typedef enum mp_error {
    MP_OK = 0,
    MP_ERROR_EOF,     // the input ends inside a value
    MP_ERROR_FORMAT,  // a type byte that is not understood
} mp_error;

typedef struct mp_cursor {
    const unsigned char *p;
    size_t left;
    mp_error error;
} mp_cursor;

// Decoding state of one open array or map.
typedef struct mp_frame {
    uint32_t remaining;  // elements (array) or pairs (map) still to decode
    int next_index;      // array: the Lua index of the next element
    unsigned char is_map;
    unsigned char have_key;  // map: the key of the current pair is on the stack
} mp_frame;

// Open containers tracked per call of mp_decode_contents; deeper nesting recurses, so the C stack grows by one
// small call per MP_FRAMES_PER_CALL levels instead of one per level.
#define MP_FRAMES_PER_CALL 32

static uint64_t mp_read_be(const unsigned char *p, int width) {
    uint64_t value = 0;
    for (int i = 0; i < width; i++) value = (value << 8) | p[i];
    return value;
}

// Makes sure `count` bytes are left, or records an end-of-input error.
static int mp_need(mp_cursor *c, size_t count) {
    if (c->left < count) {
        c->error = MP_ERROR_EOF;
        return 0;
    }
    return 1;
}

static void mp_consume(mp_cursor *c, size_t count) {
    c->p += count;
    c->left -= count;
}

// Pushes a string whose `header` bytes of length prefix (big endian) follow the type byte.
static void mp_decode_string(lua_State *L, mp_cursor *c, size_t header, size_t length) {
    if (!mp_need(c, 1 + header)) return;
    if (c->left - 1 - header < length) {
        c->error = MP_ERROR_EOF;
        return;
    }
    lua_pushlstring(L, (const char *)c->p + 1 + header, length);
    mp_consume(c, 1 + header + length);
}

// Decodes one item at the cursor. A scalar is pushed and 0 returned. For an array or map header, a new empty table is
// pushed, `frame` describes it, and 1 is returned; its contents still have to be decoded. Errors are left in
// c->error (nothing, or a partial value, may have been pushed).
static int mp_decode_item(lua_State *L, mp_cursor *c, mp_frame *frame) {
    if (!mp_need(c, 1)) return 0;
    luaL_checkstack(L, 1, "too many return values at once; use unpack_one or unpack_limit instead.");

    unsigned char type = c->p[0];
    uint64_t count;
    int is_map;
    if (type <= 0x7f) {  // positive fixint
        lua_pushinteger(L, type);
        mp_consume(c, 1);
        return 0;
    } else if (type >= 0xe0) {  // negative fixint
        lua_pushinteger(L, (lua_Integer)type - 256);
        mp_consume(c, 1);
        return 0;
    } else if (type >= 0xa0 && type <= 0xbf) {  // fixstr
        mp_decode_string(L, c, 0, type & 0x1f);
        return 0;
    } else if (type >= 0x80 && type <= 0x9f) {  // fixmap, fixarray
        count = type & 0x0f;
        is_map = type <= 0x8f;
        mp_consume(c, 1);
    } else {
        switch (type) {
        case 0xc0:
            lua_pushnil(L);
            mp_consume(c, 1);
            return 0;
        case 0xc2:
        case 0xc3:
            lua_pushboolean(L, type == 0xc3);
            mp_consume(c, 1);
            return 0;
        case 0xcc:  // uint 8, 16, 32
        case 0xcd:
        case 0xce: {
            int width = 1 << (type - 0xcc);
            if (!mp_need(c, 1 + (size_t)width)) return 0;
            lua_pushinteger(L, (lua_Integer)mp_read_be(c->p + 1, width));
            mp_consume(c, 1 + (size_t)width);
            return 0;
        }
        case 0xcf:  // uint 64: like the reference, values above INT64_MAX come back negative (two's complement)
            if (!mp_need(c, 9)) return 0;
            lua_pushinteger(L, (lua_Integer)(int64_t)mp_read_be(c->p + 1, 8));
            mp_consume(c, 9);
            return 0;
        case 0xd0:
            if (!mp_need(c, 2)) return 0;
            lua_pushinteger(L, (int8_t)c->p[1]);
            mp_consume(c, 2);
            return 0;
        case 0xd1:
            if (!mp_need(c, 3)) return 0;
            lua_pushinteger(L, (int16_t)mp_read_be(c->p + 1, 2));
            mp_consume(c, 3);
            return 0;
        case 0xd2:
            if (!mp_need(c, 5)) return 0;
            lua_pushinteger(L, (int32_t)mp_read_be(c->p + 1, 4));
            mp_consume(c, 5);
            return 0;
        case 0xd3:
            if (!mp_need(c, 9)) return 0;
            lua_pushnumber(L, (lua_Number)(int64_t)mp_read_be(c->p + 1, 8));
            mp_consume(c, 9);
            return 0;
        case 0xca: {
            if (!mp_need(c, 5)) return 0;
            uint32_t bits = (uint32_t)mp_read_be(c->p + 1, 4);
            float f;
            memcpy(&f, &bits, sizeof f);
            lua_pushnumber(L, f);
            mp_consume(c, 5);
            return 0;
        }
        case 0xcb: {
            if (!mp_need(c, 9)) return 0;
            uint64_t bits = mp_read_be(c->p + 1, 8);
            double d;
            memcpy(&d, &bits, sizeof d);
            lua_pushnumber(L, d);
            mp_consume(c, 9);
            return 0;
        }
        case 0xd9:  // str 8, 16, 32
        case 0xda:
        case 0xdb: {
            int width = 1 << (type - 0xd9);
            if (!mp_need(c, 1 + (size_t)width)) return 0;
            mp_decode_string(L, c, (size_t)width, (size_t)mp_read_be(c->p + 1, width));
            return 0;
        }
        case 0xdc:  // array 16, 32; map 16, 32
        case 0xdd:
        case 0xde:
        case 0xdf: {
            int width = (type & 1) ? 4 : 2;
            if (!mp_need(c, 1 + (size_t)width)) return 0;
            count = mp_read_be(c->p + 1, width);
            is_map = type >= 0xde;
            mp_consume(c, 1 + (size_t)width);
            break;
        }
        default:  // 0xc1, bin, ext and fixext
            c->error = MP_ERROR_FORMAT;
            return 0;
        }
    }

    lua_newtable(L);
    if (!is_map) luaL_checkstack(L, 1, "in function mp_decode_to_lua_array");
    frame->remaining = (uint32_t)count;
    frame->next_index = 1;
    frame->is_map = (unsigned char)is_map;
    frame->have_key = 0;
    return 1;
}

// Array elements are decoded with their index already pushed: table index element.
static void mp_begin_element(lua_State *L, mp_frame *frame) {
    if (!frame->is_map) lua_pushnumber(L, frame->next_index++);
}

// Decodes the contents of the container whose (empty) table is on the top of the stack and which `outer` describes,
// without recursing per nesting level.
static void mp_decode_contents(lua_State *L, mp_cursor *c, const mp_frame *outer) {
    mp_frame frames[MP_FRAMES_PER_CALL];
    int depth = 1;
    frames[0] = *outer;
    mp_begin_element(L, &frames[0]);

    for (;;) {
        // The next element, key or value of the innermost container.
        mp_frame child;
        if (mp_decode_item(L, c, &child)) {
            if (child.remaining > 0) {
                if (depth < MP_FRAMES_PER_CALL) {
                    frames[depth] = child;
                    mp_begin_element(L, &frames[depth]);
                    depth++;
                    continue;
                }
                mp_decode_contents(L, c, &child);
            }
        }
        if (c->error != MP_OK) return;

        // A complete value is on the top: store it, closing every container it completes.
        for (;;) {
            mp_frame *frame = &frames[depth - 1];
            if (frame->is_map && !frame->have_key) {
                frame->have_key = 1;  // go on to decode the value
                break;
            }
            lua_settable(L, -3);
            frame->have_key = 0;
            if (--frame->remaining > 0) {
                mp_begin_element(L, frame);
                break;
            }
            if (--depth == 0) return;  // the outer container is complete and on the top
        }
    }
}

// Decodes one complete value at the cursor onto the stack.
static void mp_decode_value(lua_State *L, mp_cursor *c) {
    mp_frame frame;
    if (mp_decode_item(L, c, &frame) && frame.remaining > 0) mp_decode_contents(L, c, &frame);
}

// Shared by the three unpack functions; the input string is at index 1. A limit and offset of 0 mean "decode
// everything, return no offset", which is also what unpack_limit(s, 0) does.
static int mp_unpack_full(lua_State *L, lua_Integer limit, lua_Integer offset) {
    size_t length;
    const char *s = luaL_checklstring(L, 1, &length);
    int decode_all = limit == 0 && offset == 0;

    // The reference reports the input length where the limit is announced; kept for identical messages.
    if (offset < 0 || limit < 0) {
        return luaL_error(L, "Invalid request to unpack with offset of %d and limit of %d.", (int)offset,
                          (int)length);
    }
    if ((size_t)offset > length) {
        return luaL_error(L, "Start offset %d greater than input length %d.", (int)offset, (int)length);
    }
    if (decode_all) limit = INT_MAX;

    mp_cursor cursor = {(const unsigned char *)s + offset, length - (size_t)offset, MP_OK};
    int count = 0;
    while (cursor.left > 0 && count < limit) {
        mp_decode_value(L, &cursor);
        if (cursor.error == MP_ERROR_EOF) return luaL_error(L, "Missing bytes in input.");
        if (cursor.error == MP_ERROR_FORMAT) return luaL_error(L, "Bad data format in input.");
        count++;
    }
    if (decode_all) return count;

    luaL_checkstack(L, 1, "in function mp_unpack_full");
    lua_pushinteger(L, cursor.left == 0 ? -1 : (lua_Integer)(length - cursor.left));
    lua_insert(L, 2);
    return count + 1;
}

static int mp_unpack(lua_State *L) {
    return mp_unpack_full(L, 0, 0);
}

static int mp_unpack_one(lua_State *L) {
    lua_Integer offset = luaL_optinteger(L, 2, 0);
    lua_settop(L, lua_gettop(L) > 0 ? 1 : 0);
    return mp_unpack_full(L, 1, offset);
}

static int mp_unpack_limit(lua_State *L) {
    lua_Integer limit = luaL_checkinteger(L, 2);
    lua_Integer offset = luaL_optinteger(L, 3, 0);
    lua_settop(L, 1);
    return mp_unpack_full(L, limit, offset);
}

// MARK: - Module

// Leaves the module table on the stack; sets no global.
int swiftlet_luaopen_cmsgpack(lua_State *L) {
    lua_createtable(L, 0, 8);

    lua_createtable(L, 0, 1);  // the metatable of pack's buffers
    lua_pushcfunction(L, mp_buffer_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcclosure(L, mp_pack, 1);
    lua_setfield(L, -2, "pack");

    lua_pushcfunction(L, mp_unpack);
    lua_setfield(L, -2, "unpack");
    lua_pushcfunction(L, mp_unpack_one);
    lua_setfield(L, -2, "unpack_one");
    lua_pushcfunction(L, mp_unpack_limit);
    lua_setfield(L, -2, "unpack_limit");

    // The reference's metadata fields, which scripts can read.
    lua_pushliteral(L, "cmsgpack");
    lua_setfield(L, -2, "_NAME");
    lua_pushliteral(L, "lua-cmsgpack 0.4.0");
    lua_setfield(L, -2, "_VERSION");
    lua_pushliteral(L, "Copyright (C) 2012, Salvatore Sanfilippo");
    lua_setfield(L, -2, "_COPYRIGHT");
    lua_pushliteral(L, "MessagePack C implementation for Lua");
    lua_setfield(L, -2, "_DESCRIPTION");
    return 1;
}
