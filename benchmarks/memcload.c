/* memcload: a small load generator for memcached's text protocol (memcached and swiftlet-memcached alike).

   One thread, epoll, N connections; each connection keeps DEPTH requests in flight (1 by default: send one
   request, wait for its whole reply, send the next). Runs for a fixed time and counts the requests completed.
   benchmarks/memcached-vs.py compiles it with `cc -O2` into a temporary directory and runs it pinned to CPU 1.

     memcload -p PORT -m get|mget|set|load [-c 50] [-t 5] [-k 100000] [-v 32] [-b 16] [-d 1] [-s SEED] [-P key:]

   -m get   `get KEY`, a key drawn uniformly from the K keys (PREFIX0 .. PREFIX(K-1))
      mget  `get KEY1 .. KEYB`, B keys per request
      set   `set KEY 0 0 V` with a V-byte value
      load  each key once, in order, `set` (DEPTH requests in flight per connection, 32 unless -d is given);
            stops when every key is stored, not after -t
   Prints one line of key=value pairs: requests, seconds, rps, keys_asked, hits, misses, errors, client_cpu_s
   (user+system of this process), first_error. Exit status 1 when nothing completed or a connection failed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { M_GET, M_MGET, M_SET, M_LOAD };

typedef struct {
    int fd;
    char *in;          /* reply bytes not parsed yet */
    size_t in_len, in_cap;
    char *out;         /* request bytes not written yet */
    size_t out_len, out_off, out_cap;
    int outstanding;   /* requests sent whose reply is not complete */
    int want_out;      /* EPOLLOUT registered */
    uint64_t rng;
} conn_t;

static int mode = M_GET, nconns = 50, depth = 0, batch = 16, vlen = 32, nkeys = 100000;
static double duration = 5.0;
static const char *host = "127.0.0.1", *prefix = "key:";
static int port = 0;
static uint64_t seed = 1;

static char **keys;
static int *keylen;
static char *value;

static uint64_t completed, keys_asked, hits, misses, errors;
static long next_load_key;
static char first_error[128];

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

static uint64_t next_rand(uint64_t *s) { /* xorshift64* */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void out_reserve(conn_t *c, size_t more) {
    if (c->out_len + more <= c->out_cap) return;
    if (c->out_off > 0) { /* compact first */
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
        if (c->out_len + more <= c->out_cap) return;
    }
    while (c->out_len + more > c->out_cap) c->out_cap *= 2;
    c->out = realloc(c->out, c->out_cap);
    if (!c->out) die("realloc");
}

static void out_put(conn_t *c, const char *p, size_t n) {
    out_reserve(c, n);
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

static void out_key(conn_t *c, int k) { out_put(c, keys[k], keylen[k]); }

static void put_set(conn_t *c, int k) {
    char head[64];
    out_put(c, "set ", 4);
    out_key(c, k);
    int n = snprintf(head, sizeof head, " 0 0 %d\r\n", vlen);
    out_put(c, head, n);
    out_put(c, value, vlen);
    out_put(c, "\r\n", 2);
}

/* append one request; returns 0 when there is nothing more to send (load finished) */
static int add_request(conn_t *c) {
    switch (mode) {
    case M_GET:
        out_put(c, "get ", 4);
        out_key(c, (int)(next_rand(&c->rng) % nkeys));
        out_put(c, "\r\n", 2);
        keys_asked += 1;
        break;
    case M_MGET:
        out_put(c, "get", 3);
        for (int i = 0; i < batch; i++) {
            out_put(c, " ", 1);
            out_key(c, (int)(next_rand(&c->rng) % nkeys));
        }
        out_put(c, "\r\n", 2);
        keys_asked += batch;
        break;
    case M_SET:
        put_set(c, (int)(next_rand(&c->rng) % nkeys));
        break;
    case M_LOAD:
        if (next_load_key >= nkeys) return 0;
        put_set(c, (int)next_load_key++);
        break;
    }
    c->outstanding++;
    return 1;
}

static void set_events(int ep, conn_t *c, int want_out) {
    if (c->want_out == want_out) return;
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl");
    c->want_out = want_out;
}

static void flush_out(int ep, conn_t *c) {
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            die("write");
        }
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
    set_events(ep, c, c->out_len > 0);
}

static void note_error(const char *line, size_t n) {
    errors++;
    if (!first_error[0]) {
        if (n > sizeof first_error - 1) n = sizeof first_error - 1;
        memcpy(first_error, line, n);
        for (size_t i = 0; i < n; i++)
            if (first_error[i] == ' ') first_error[i] = '_';
    }
}

/* parse one complete reply at p; returns the bytes it spans, or 0 when it is not all there yet */
static size_t parse_reply(const char *p, size_t len) {
    size_t pos = 0;
    uint64_t found = 0;
    for (;;) {
        const char *line = p + pos;
        const char *eol = memmem(line, len - pos, "\r\n", 2);
        if (!eol) return 0;
        size_t ll = (size_t)(eol - line);
        if (ll >= 6 && memcmp(line, "VALUE ", 6) == 0) {
            /* VALUE key flags bytes [cas] */
            const char *q = line + 6;
            int field = 0;
            long bytes = -1;
            while (q < eol) {
                while (q < eol && *q == ' ') q++;
                const char *start = q;
                while (q < eol && *q != ' ') q++;
                if (field == 2) bytes = strtol(start, NULL, 10);
                field++;
            }
            if (bytes < 0) return 0;
            size_t need = ll + 2 + (size_t)bytes + 2;
            if (pos + need > len) return 0;
            pos += need;
            found++;
            continue;
        }
        pos += ll + 2;
        if (ll == 3 && memcmp(line, "END", 3) == 0) {
            hits += found;
            return pos;
        }
        if (ll == 6 && memcmp(line, "STORED", 6) == 0) return pos;
        note_error(line, ll); /* ERROR, CLIENT_ERROR, SERVER_ERROR, NOT_STORED ... */
        return pos;
    }
}

int main(int argc, char **argv) {
    int opt;
    while ((opt = getopt(argc, argv, "h:p:m:c:t:k:v:b:d:s:P:")) != -1) {
        switch (opt) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'm':
            if (!strcmp(optarg, "get")) mode = M_GET;
            else if (!strcmp(optarg, "mget")) mode = M_MGET;
            else if (!strcmp(optarg, "set")) mode = M_SET;
            else if (!strcmp(optarg, "load")) mode = M_LOAD;
            else { fprintf(stderr, "unknown mode %s\n", optarg); return 2; }
            break;
        case 'c': nconns = atoi(optarg); break;
        case 't': duration = atof(optarg); break;
        case 'k': nkeys = atoi(optarg); break;
        case 'v': vlen = atoi(optarg); break;
        case 'b': batch = atoi(optarg); break;
        case 'd': depth = atoi(optarg); break;
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'P': prefix = optarg; break;
        default:
            fprintf(stderr, "usage: memcload -p PORT -m get|mget|set|load [-h HOST] [-c CONNS] [-t SECONDS] "
                            "[-k KEYS] [-v VALUE_BYTES] [-b KEYS_PER_MGET] [-d DEPTH] [-s SEED] [-P PREFIX]\n");
            return 2;
        }
    }
    if (port <= 0 || nconns <= 0 || nkeys <= 0 || vlen < 0 || batch <= 0) {
        fprintf(stderr, "memcload: bad arguments (need -p PORT)\n");
        return 2;
    }
    if (depth <= 0) depth = mode == M_LOAD ? 32 : 1;

    keys = malloc(sizeof *keys * nkeys);
    keylen = malloc(sizeof *keylen * nkeys);
    for (int i = 0; i < nkeys; i++) {
        char tmp[256];
        keylen[i] = snprintf(tmp, sizeof tmp, "%s%d", prefix, i);
        keys[i] = strdup(tmp);
    }
    value = malloc(vlen + 1);
    memset(value, 'x', vlen);

    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) { fprintf(stderr, "bad host %s\n", host); return 2; }
    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    conn_t *conns = calloc(nconns, sizeof *conns);
    for (int i = 0; i < nconns; i++) {
        conn_t *c = &conns[i];
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (c->fd < 0) die("socket");
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
        c->in_cap = 1 << 16;
        c->in = malloc(c->in_cap);
        c->out_cap = 1 << 12;
        c->out = malloc(c->out_cap);
        c->rng = seed * 0x9E3779B97F4A7C15ULL + (uint64_t)(i + 1) * 0xBF58476D1CE4E5B9ULL;
        if (!c->rng) c->rng = 1;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
    }

    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    double t0 = now(), deadline = t0 + duration, t_end = 0;
    int active = 0;
    for (int i = 0; i < nconns; i++) {
        for (int d = 0; d < depth; d++)
            if (!add_request(&conns[i])) break;
        if (conns[i].outstanding) active++;
        flush_out(ep, &conns[i]);
    }
    int stopping = 0; /* past the deadline: send nothing more, finish what is in flight (not counted) */
    struct epoll_event evs[256];
    while (active > 0) {
        double t = now();
        if (mode != M_LOAD && !stopping && t >= deadline) {
            stopping = 1;
            t_end = t;
        }
        if (stopping && t > t_end + 2.0) break; /* a server that never answers: give up on those replies */
        int timeout_ms = stopping ? 100 : (int)((deadline - t) * 1000) + 1;
        if (mode == M_LOAD) timeout_ms = 1000;
        int n = epoll_wait(ep, evs, 256, timeout_ms);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int e = 0; e < n; e++) {
            conn_t *c = evs[e].data.ptr;
            if (evs[e].events & EPOLLOUT) flush_out(ep, c);
            if (!(evs[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) continue;
            if (c->in_len == c->in_cap) {
                c->in_cap *= 2;
                c->in = realloc(c->in, c->in_cap);
                if (!c->in) die("realloc");
            }
            ssize_t r = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
            if (r < 0) {
                if (errno == EAGAIN || errno == EINTR) continue;
                die("read");
            }
            if (r == 0) {
                fprintf(stderr, "memcload: the server closed a connection\n");
                return 1;
            }
            c->in_len += (size_t)r;
            size_t off = 0, used;
            int done_now = 0;
            while (c->outstanding > 0 && (used = parse_reply(c->in + off, c->in_len - off)) > 0) {
                off += used;
                c->outstanding--;
                done_now++;
            }
            if (off) {
                memmove(c->in, c->in + off, c->in_len - off);
                c->in_len -= off;
            }
            if (!done_now) continue;
            if (!stopping) completed += (uint64_t)done_now;
            if (stopping) {
                if (c->outstanding == 0) active--;
                continue;
            }
            /* keep DEPTH requests in flight */
            int added = 0;
            while (c->outstanding < depth && add_request(c)) added++;
            if (added) flush_out(ep, c);
            if (c->outstanding == 0) active--;
        }
    }
    if (!t_end) t_end = now();
    getrusage(RUSAGE_SELF, &ru1);
    double cpu = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) + (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
                 (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) + (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
    double secs = t_end - t0;
    if (mode == M_MGET || mode == M_GET) misses = keys_asked >= hits ? keys_asked - hits : 0;
    printf("requests=%llu seconds=%.3f rps=%.0f keys_asked=%llu hits=%llu misses=%llu errors=%llu client_cpu_s=%.3f "
           "first_error=%s\n",
           (unsigned long long)completed, secs, completed / secs, (unsigned long long)keys_asked,
           (unsigned long long)hits, (unsigned long long)misses, (unsigned long long)errors, cpu,
           first_error[0] ? first_error : "-");
    return completed ? 0 : 1;
}
