// Debian's Lua 5.1 (liblua5.1-0-dev) with lua-cjson and LuaBitOp, as Redis embeds them. Only the C target
// CSwiftletScripting includes these headers: no Lua call is ever made from Swift, so a Lua error (a longjmp) never
// crosses a Swift frame.
#include <lua5.1/lua.h>
#include <lua5.1/lauxlib.h>
#include <lua5.1/lualib.h>
