#ifndef SWIFTLET_SHA1_H
#define SWIFTLET_SHA1_H
#include <stddef.h>

/// The SHA-1 of `length` bytes as 40 lower-case hex digits and a NUL (redis.sha1hex, script names).
void swiftlet_sha1_hex(char digest[41], const char *data, size_t length);

#endif
