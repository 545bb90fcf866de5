#!/usr/bin/env bash
# Instructions per request of swiftlet-memcached (or any memcached-compatible binary) under callgrind: a repeatable
# count for comparing builds on a noisy machine, where throughput moves with the neighbours.
#
#   benchmarks/memcached-instructions.sh [BINARY]      # default .build/release/swiftlet-memcached; about 1 minute
#
# For each of get and set: the binary (a copy without debug sections) runs under valgrind's callgrind on a free
# port; benchmarks/memcload.c loads 2000 keys, the counters are zeroed, then 10 connections send one request at a
# time for 4 s (32-byte values); the line printed is the instructions executed by the whole process over that
# window divided by the requests completed (user space only: the kernel's share is not counted). The profile stays
# in the work directory printed at the end (`callgrind_annotate --inclusive=yes FILE` shows where the count goes).
# memcached itself cannot run under valgrind here (it lowers its descriptor limit to -c, which valgrind refuses).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-.build/release/swiftlet-memcached}
WORK=$(mktemp -d /tmp/memcached-instructions.XXXXXX)
cc -O2 -o "$WORK/memcload" benchmarks/memcload.c
cp "$BIN" "$WORK/server" && strip --strip-debug "$WORK/server"
user_flag=()
[ "$(id -u)" = 0 ] && user_flag=(-u root)
for mode in get set; do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$mode" "$WORK/server" "${user_flag[@]}" \
        -p "$port" -U 0 -l 127.0.0.1 -t 1 > "$WORK/server.$mode.log" 2>&1 &
    server=$!
    for _ in $(seq 1 150); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
        sleep 0.2
    done
    "$WORK/memcload" -p "$port" -m load -k 2000 -c 4 -t 10 > /dev/null
    callgrind_control -z "$server" > /dev/null 2>&1
    out=$("$WORK/memcload" -p "$port" -m "$mode" -k 2000 -c 10 -t 4)
    callgrind_control -d "$server" > /dev/null 2>&1
    sleep 1
    kill "$server"
    wait "$server" 2> /dev/null || true
    requests=$(echo "$out" | grep -oE "requests=[0-9]+" | grep -oE "[0-9]+")
    instructions=$(callgrind_annotate "$WORK/cg.$mode.1" 2> /dev/null | grep "PROGRAM TOTALS" | grep -oE "^[0-9,]+" | tr -d ,)
    echo "$mode: requests=$requests instructions=$instructions per_request=$((instructions / requests))"
done
echo "profiles in $WORK (cg.get.1, cg.set.1)"
