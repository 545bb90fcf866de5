// Binary packing for Lua 5.1 scripts: the `struct` library that Redis scripts expect.
//
// An independent implementation that behaves like the struct library (Roberto Ierusalimschy's, as patched by Redis)
// that Redis 7.0 embeds, messages and machine-dependent corners included:
//
//   struct.pack(fmt, v1, v2, ...)   -> string
//   struct.unpack(fmt, s [, pos])   -> v1, v2, ..., next_pos     (pos is 1-based)
//   struct.size(fmt)                -> the size of a fixed-size format
//
// Format characters:
//   > <       big / little endian (the default is the machine's)
//   ![n]      maximum alignment n (a power of 2; no number: that of double); the default is 1, no padding
//   x         one zero byte of padding
//   b B h H   signed / unsigned char and short
//   l L T     signed / unsigned long, size_t
//   i[n] I[n] signed / unsigned integer of n bytes, 0..32 (default: sizeof(int))
//   f d       float, double
//   s         zero-terminated string
//   c[n]      n characters (default 1); c0 packs the whole string, and unpacks as many characters as the
//             previous result says
//   ' '       ignored
//
// Integers are converted through 64 bits: wider fields are zero-padded when packing (no sign extension) and only their
// low 8 bytes are read when unpacking. Numbers that do not fit the conversion to a 64-bit integer give the values an
// x86-64 conversion gives, which the reference relies on; this file computes them explicitly, so results do not
// depend on the machine.

#include <lua5.1/lua.h>
#include <lua5.1/lauxlib.h>

#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int swiftlet_luaopen_struct(lua_State *L);

// Widest i[n]/I[n] field.
#define STRUCT_MAX_INT_SIZE 32

#define STRUCT_TWO_POW_63 9223372036854775808.0

enum { STRUCT_BIG = 0, STRUCT_LITTLE = 1 };

typedef struct struct_state {
    int endian;
    int align;
} struct_state;

typedef struct struct_align_probe {
    char c;
    double d;
} struct_align_probe;

// The alignment '!' without a number selects: that of double, at least that of int.
static int struct_max_align(void) {
    size_t align = offsetof(struct_align_probe, d);
    return (int)(align > sizeof(int) ? align : sizeof(int));
}

static int struct_native_endian(void) {
    const uint16_t probe = 1;
    unsigned char first;
    memcpy(&first, &probe, 1);
    return first == 1 ? STRUCT_LITTLE : STRUCT_BIG;
}

static void struct_state_init(struct_state *state) {
    state->endian = struct_native_endian();
    state->align = 1;
}

// MARK: - Number conversions

// double -> int64_t as x86-64's cvttsd2si does it: out of range and NaN give INT64_MIN.
static int64_t struct_to_int64(double d) {
    if (d >= -STRUCT_TWO_POW_63 && d < STRUCT_TWO_POW_63) return (int64_t)d;
    return INT64_MIN;
}

// double -> uint64_t as compiled C does it on x86-64: below 2^63 (negative numbers and NaN included) through the signed
// conversion, otherwise through it after subtracting 2^63, so 2^64 and above (and +inf) give 0. Negative numbers thus
// come out in two's complement, as the reference's explicit (unsigned long)(long)n gives for them.
static uint64_t struct_to_uint64(double d) {
    if (d >= STRUCT_TWO_POW_63) return (uint64_t)struct_to_int64(d - STRUCT_TWO_POW_63) ^ (UINT64_C(1) << 63);
    return (uint64_t)struct_to_int64(d);
}

// MARK: - Format parsing

// Reads the decimal number at *fmt, or returns `fallback` when there is none.
static int struct_read_number(lua_State *L, const char **fmt, int fallback) {
    if (!isdigit((unsigned char)**fmt)) return fallback;
    int value = 0;
    while (isdigit((unsigned char)**fmt)) {
        int digit = **fmt - '0';
        if (value > INT_MAX / 10 || value * 10 > INT_MAX - digit) luaL_error(L, "integral size overflow");
        value = value * 10 + digit;
        (*fmt)++;
    }
    return value;
}

// The size of the data an option stands for, reading its number if it takes one. Options without data (and unknown
// ones, reported later) have size 0. 's' is 0 too: its size depends on the string.
static size_t struct_option_size(lua_State *L, int option, const char **fmt) {
    switch (option) {
    case 'b':
    case 'B':
        return sizeof(char);
    case 'h':
    case 'H':
        return sizeof(short);
    case 'l':
    case 'L':
        return sizeof(long);
    case 'T':
        return sizeof(size_t);
    case 'f':
        return sizeof(float);
    case 'd':
        return sizeof(double);
    case 'x':
        return 1;
    case 'c':
        return (size_t)struct_read_number(L, fmt, 1);
    case 'i':
    case 'I': {
        int size = struct_read_number(L, fmt, (int)sizeof(int));
        if (size > STRUCT_MAX_INT_SIZE) {
            luaL_error(L, "integral size %d is larger than limit of %d", size, STRUCT_MAX_INT_SIZE);
        }
        return (size_t)size;
    }
    default:
        return 0;
    }
}

// Padding needed before an item of `size` bytes at `position`: items align to their size, capped by the current
// maximum alignment. Characters never align. The formula is the reference's, also for sizes that are not powers of 2.
static size_t struct_padding(size_t position, const struct_state *state, int option, size_t size) {
    if (size == 0 || option == 'c') return 0;
    if (size > (size_t)state->align) size = (size_t)state->align;
    return (size - (position & (size - 1))) & (size - 1);
}

// Handles the options that carry no data: endianness, alignment, spaces. Anything else is an error.
static void struct_control_option(lua_State *L, int option, const char **fmt, struct_state *state) {
    switch (option) {
    case ' ':
        return;
    case '>':
        state->endian = STRUCT_BIG;
        return;
    case '<':
        state->endian = STRUCT_LITTLE;
        return;
    case '!': {
        int align = struct_read_number(L, fmt, struct_max_align());
        if (align <= 0 || (align & (align - 1)) != 0) luaL_error(L, "alignment %d is not a power of 2", align);
        state->align = align;
        return;
    }
    default:
        luaL_argerror(L, 1, lua_pushfstring(L, "invalid format option '%c'", option));
    }
}

// Copies a float or double into `out` in the requested byte order.
static void struct_order_bytes(char *out, const void *native, size_t size, int endian) {
    memcpy(out, native, size);
    if (endian != struct_native_endian()) {
        for (size_t i = 0; i < size / 2; i++) {
            char byte = out[i];
            out[i] = out[size - 1 - i];
            out[size - 1 - i] = byte;
        }
    }
}

// MARK: - pack

static void struct_pack_integer(lua_State *L, luaL_Buffer *b, int arg, int endian, size_t size) {
    lua_Number n = luaL_checknumber(L, arg);
    uint64_t value = struct_to_uint64(n);
    char bytes[STRUCT_MAX_INT_SIZE];
    for (size_t i = 0; i < size; i++) {
        bytes[endian == STRUCT_LITTLE ? i : size - 1 - i] = (char)(value & 0xff);
        value >>= 8;
    }
    luaL_addlstring(b, bytes, size);
}

static int struct_pack(lua_State *L) {
    const char *fmt = luaL_checkstring(L, 1);
    struct_state state;
    struct_state_init(&state);
    int arg = 2;
    size_t total = 0;  // bytes produced so far, for alignment
    // A nil between the arguments and the buffer's pieces: a missing argument then reads as nil, so the message is
    // "got nil" as with the reference, not "got no value".
    lua_pushnil(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);

    while (*fmt != '\0') {
        int option = *fmt++;
        size_t size = struct_option_size(L, option, &fmt);
        size_t padding = struct_padding(total, &state, option, size);
        total += padding;
        while (padding-- > 0) luaL_addchar(&b, '\0');

        switch (option) {
        case 'b':
        case 'B':
        case 'h':
        case 'H':
        case 'l':
        case 'L':
        case 'T':
        case 'i':
        case 'I':
            struct_pack_integer(L, &b, arg++, state.endian, size);
            break;
        case 'x':
            luaL_addchar(&b, '\0');
            break;
        case 'f': {
            float f = (float)luaL_checknumber(L, arg++);
            char bytes[sizeof f];
            struct_order_bytes(bytes, &f, sizeof f, state.endian);
            luaL_addlstring(&b, bytes, sizeof f);
            break;
        }
        case 'd': {
            double d = luaL_checknumber(L, arg++);
            char bytes[sizeof d];
            struct_order_bytes(bytes, &d, sizeof d, state.endian);
            luaL_addlstring(&b, bytes, sizeof d);
            break;
        }
        case 'c':
        case 's': {
            size_t length;
            const char *s = luaL_checklstring(L, arg++, &length);
            if (size == 0) size = length;
            // The reference names the argument after the string here; kept for identical messages.
            luaL_argcheck(L, length >= size, arg, "string too short");
            luaL_addlstring(&b, s, size);
            if (option == 's') {
                luaL_addchar(&b, '\0');
                size++;
            }
            break;
        }
        default:
            struct_control_option(L, option, &fmt, &state);
            break;
        }
        total += size;
    }
    luaL_pushresult(&b);
    return 1;
}

// MARK: - unpack

// Reads an integer field; only the low 8 bytes of wider fields count. The sign bit of a signed field is found the
// way the reference's shift by (8 * size - 1) finds it on x86-64, which takes the count modulo 64.
static lua_Number struct_unpack_integer(const char *data, int endian, int is_signed, size_t size) {
    uint64_t value = 0;
    for (size_t i = 0; i < size; i++) {
        unsigned char byte = (unsigned char)data[endian == STRUCT_BIG ? i : size - 1 - i];
        value = (value << 8) | byte;
    }
    if (!is_signed) return (lua_Number)value;
    uint64_t sign_and_above = ~UINT64_C(0) << ((size * 8 - 1) & 63);
    if (value & sign_and_above) value |= sign_and_above;
    return (lua_Number)(int64_t)value;
}

static int struct_unpack(lua_State *L) {
    const char *fmt = luaL_checkstring(L, 1);
    size_t length;
    const char *data = luaL_checklstring(L, 2, &length);
    // Converted like the reference: a negative position becomes huge and then fails the bounds check.
    size_t position = (size_t)luaL_optinteger(L, 3, 1);
    luaL_argcheck(L, position > 0, 3, "offset must be 1 or greater");
    position--;
    struct_state state;
    struct_state_init(&state);
    int results = 0;

    while (*fmt != '\0') {
        int option = *fmt++;
        size_t size = struct_option_size(L, option, &fmt);
        position += struct_padding(position, &state, option, size);
        luaL_argcheck(L, size <= length && position <= length - size, 2, "data string too short");
        luaL_checkstack(L, 2, "too many results");  // the item and the final position

        switch (option) {
        case 'b':
        case 'B':
        case 'h':
        case 'H':
        case 'l':
        case 'L':
        case 'T':
        case 'i':
        case 'I':
            lua_pushnumber(L, struct_unpack_integer(data + position, state.endian, islower(option), size));
            results++;
            break;
        case 'x':
            break;
        case 'f': {
            float f;
            char bytes[sizeof f];
            struct_order_bytes(bytes, data + position, sizeof f, state.endian);
            memcpy(&f, bytes, sizeof f);
            lua_pushnumber(L, f);
            results++;
            break;
        }
        case 'd': {
            double d;
            char bytes[sizeof d];
            struct_order_bytes(bytes, data + position, sizeof d, state.endian);
            memcpy(&d, bytes, sizeof d);
            lua_pushnumber(L, d);
            results++;
            break;
        }
        case 'c':
            if (size == 0) {
                // c0: the previous result (a number, or a string that converts to one) is the length.
                if (results == 0 || !lua_isnumber(L, -1)) luaL_error(L, "format 'c0' needs a previous size");
                lua_Number n = lua_tonumber(L, -1);
                size = (size_t)struct_to_uint64(n);
                lua_pop(L, 1);
                results--;
                luaL_argcheck(L, size <= length && position <= length - size, 2, "data string too short");
            }
            lua_pushlstring(L, data + position, size);
            results++;
            break;
        case 's': {
            const char *end = memchr(data + position, '\0', length - position);
            if (end == NULL) luaL_error(L, "unfinished string in data");
            size = (size_t)(end - (data + position)) + 1;
            lua_pushlstring(L, data + position, size - 1);
            results++;
            break;
        }
        default:
            struct_control_option(L, option, &fmt, &state);
            break;
        }
        position += size;
    }
    lua_pushinteger(L, (lua_Integer)(position + 1));
    return results + 1;
}

// MARK: - size

static int struct_size(lua_State *L) {
    const char *fmt = luaL_checkstring(L, 1);
    struct_state state;
    struct_state_init(&state);
    size_t position = 0;

    while (*fmt != '\0') {
        int option = *fmt++;
        size_t size = struct_option_size(L, option, &fmt);
        position += struct_padding(position, &state, option, size);
        if (option == 's') {
            luaL_argerror(L, 1, "option 's' has no fixed size");
        } else if (option == 'c' && size == 0) {
            luaL_argerror(L, 1, "option 'c0' has no fixed size");
        }
        // Unknown letters and digits are silently skipped here, unlike in pack and unpack.
        if (!isalnum((unsigned char)option)) struct_control_option(L, option, &fmt, &state);
        position += size;
    }
    lua_pushinteger(L, (lua_Integer)position);
    return 1;
}

// MARK: - Module

// Leaves the module table on the stack; sets no global.
int swiftlet_luaopen_struct(lua_State *L) {
    lua_createtable(L, 0, 3);
    lua_pushcfunction(L, struct_pack);
    lua_setfield(L, -2, "pack");
    lua_pushcfunction(L, struct_unpack);
    lua_setfield(L, -2, "unpack");
    lua_pushcfunction(L, struct_size);
    lua_setfield(L, -2, "size");
    return 1;
}
