// The VM object's buffers and Redis's error shapes, shared by the other files of the VM.
#include "vm_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sha1.h"

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

void buffer_text(swiftlet_buffer *buffer, const char *text) {
    swiftlet_buffer_append(buffer, text, strlen(text));
}

void buffer_format(swiftlet_buffer *buffer, const char *format, ...) __attribute__((format(printf, 2, 3)));
void buffer_format(swiftlet_buffer *buffer, const char *format, ...) {
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

swiftlet_script_vm *vm_of(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, "__swiftlet_vm__");
    swiftlet_script_vm *vm = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return vm;
}

// MARK: - Errors as Redis shapes them

/// Pushes Redis's error table {err = "CODE message"} for `text`: "-CODE message" keeps its code, anything else gets
/// ERR (luaPushErrorBuff). A trailing CR/LF is trimmed.
void push_error_table(lua_State *L, const char *text, size_t length) {
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

void push_error_text(lua_State *L, const char *text) { push_error_table(L, text, strlen(text)); }

int raise_error_text(lua_State *L, const char *text) {
    push_error_text(L, text);
    return lua_error(L);
}
