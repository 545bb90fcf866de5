#ifndef CSWIFTLET_SCRIPTING_H
#define CSWIFTLET_SCRIPTING_H
#include <stddef.h>

/// The Lua 5.1 interpreter as Redis 7.0 embeds it, behind a C boundary.
///
/// Every Lua API call, and so every Lua error (a longjmp), stays in this target: Swift calls the functions below,
/// which run Lua inside `lua_pcall`, and Lua reaches Swift only through the host callbacks, which return normally.
/// Between a callback's return and the `lua_pcall` that catches an error there are only C and Lua frames.

/// Bytes with a length (not NUL-terminated).
typedef struct {
    const char *data;
    size_t length;
} swiftlet_bytes;

/// A growable byte buffer owned by the VM (RESP replies, error texts).
typedef struct {
    char *data;
    size_t length;
    size_t capacity;
} swiftlet_buffer;

/// What a VM asks of the engine. None of these may raise a Lua error; they return normally.
typedef struct {
    void *context;
    /// redis.call / redis.pcall: run `argv` as a command; write its reply (RESP, in the script's protocol version
    /// `resp`) into `reply`. A refusal by the script rules is an error reply too ("-ERR ...\r\n").
    void (*call)(void *context, int argc, const swiftlet_bytes *argv, int resp, swiftlet_buffer *reply);
    /// redis.acl_check_cmd: 1 allowed, 0 denied, -1 no such command.
    int (*acl_check)(void *context, int argc, const swiftlet_bytes *argv);
    /// redis.set_repl: where the script's writes go (bits: 1 AOF, 2 replicas).
    void (*set_repl)(void *context, int flags);
    /// redis.log at a Redis log level (0 debug ... 3 warning).
    void (*log)(void *context, int level, const char *text, size_t length);
    /// The count hook (every 100,000 instructions while a busy threshold is set): 1 when the script is to be
    /// killed (SCRIPT KILL, FUNCTION KILL, SHUTDOWN NOSAVE).
    int (*interrupt)(void *context);
} swiftlet_script_host;

typedef struct swiftlet_script_vm swiftlet_script_vm;

/// Which API a VM gives its scripts: EVAL's (KEYS and ARGV globals) or the functions engine's (FUNCTION LOAD runs
/// the library's code with only `redis.register_function` and friends; FCALL passes KEYS and ARGV as arguments).
enum {
    SWIFTLET_VM_EVAL = 0,
    SWIFTLET_VM_FUNCTIONS = 1,
};

/// A new interpreter with Redis's libraries and protections, or NULL when out of memory.
swiftlet_script_vm *swiftlet_vm_create(int kind, swiftlet_script_host host);
void swiftlet_vm_destroy(swiftlet_script_vm *vm);

/// Compiles `body` (after a shebang line of `skip` bytes, whose line feed is kept so line numbers stay right) and
/// keeps the function in the registry. Returns its reference (for swiftlet_vm_run), or -1 with Lua's message in the
/// VM's error text. The function lives as long as the VM (SCRIPT FLUSH drops the whole VM).
int swiftlet_vm_define(swiftlet_script_vm *vm, const char *body, size_t length, size_t skip);

/// Outcome of a run: the reply in `swiftlet_vm_reply` is the script's value converted to RESP, or an error reply.
enum {
    SWIFTLET_RUN_OK = 0,
    /// An error reply whose statistics were already counted (a command's error passed through).
    SWIFTLET_RUN_ERROR_COUNTED = 1,
    /// An error reply to count.
    SWIFTLET_RUN_ERROR = 2,
};

/// Runs a function: the one registered under `name` (a library's), or when `name` is NULL the one `ref` refers to
/// (swiftlet_vm_define's), with KEYS and ARGV (EVAL: as globals; FCALL: as its two arguments), and converts its
/// result to RESP for a caller speaking `caller_resp`. `label` names the script in error texts (the sha, or the
/// function's name). `hook`: install the count hook. Returns one of SWIFTLET_RUN_*.
int swiftlet_vm_run(
    swiftlet_script_vm *vm, int ref, const char *name, const char *label, const swiftlet_bytes *keys, int nkeys,
    const swiftlet_bytes *args, int nargs, int caller_resp, int hook);

/// The reply of the last run, valid until the next call on the VM.
swiftlet_bytes swiftlet_vm_reply(swiftlet_script_vm *vm);
/// The error text of the last failed define or load (no leading '-', no CRLF).
swiftlet_bytes swiftlet_vm_error(swiftlet_script_vm *vm);

/// Bytes the interpreter holds (`used_memory_lua`, `used_memory_vm_functions`).
size_t swiftlet_vm_memory(swiftlet_script_vm *vm);

/// Appends to a host-owned buffer (for the host's `call` replies).
void swiftlet_buffer_append(swiftlet_buffer *buffer, const void *data, size_t length);

// MARK: - The functions engine (FUNCTION LOAD)

/// A function registered by a library's code: its name, its callback's registry name, its flags (bits of
/// SWIFTLET_SCRIPT_FLAG_*) and its description (NULL when none).
typedef struct {
    const char *name;
    size_t name_length;
    const char *description;
    size_t description_length;
    unsigned flags;
} swiftlet_function_info;

enum {
    SWIFTLET_SCRIPT_FLAG_NO_WRITES = 1 << 0,
    SWIFTLET_SCRIPT_FLAG_ALLOW_OOM = 1 << 1,
    SWIFTLET_SCRIPT_FLAG_ALLOW_STALE = 1 << 2,
    SWIFTLET_SCRIPT_FLAG_NO_CLUSTER = 1 << 3,
    SWIFTLET_SCRIPT_FLAG_ALLOW_CROSS_SLOT = 1 << 4,
};

/// Runs a library's code (`body` after its shebang line of `skip` bytes) in the loading sandbox, collecting the
/// functions it registers under registry names "<prefix><function name>". Returns the number of functions, or -1
/// with the error text set. `timeout_ms`: the load is stopped after this long ("FUNCTION LOAD timeout").
int swiftlet_vm_load_library(
    swiftlet_script_vm *vm, const char *prefix, const char *body, size_t length, size_t skip, long timeout_ms);

/// The i-th function the last successful load registered (valid until the next call on the VM).
swiftlet_function_info swiftlet_vm_loaded_function(swiftlet_script_vm *vm, int index);

/// Moves the functions registered under `from_prefix` to `to_prefix` (a library replaced or restored), or drops
/// them when `to_prefix` is NULL.
void swiftlet_vm_rename_functions(swiftlet_script_vm *vm, const char *from_prefix, const char *to_prefix);

#endif
