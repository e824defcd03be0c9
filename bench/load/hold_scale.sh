#!/usr/bin/env bash
# Scale benchmark for portpool-load: hold N concurrent echoing connections to ONE backend
# port (127.0.0.1:8080), with `serve --workers` on the other side, every process under
# 20,000 descriptors. Reports setup rate and memory per connection:
#   user:   summed PSS (and RSS) of every portpool-load process, both sides, at the peak;
#   kernel: growth of Slab in /proc/meminfo from before the run to the peak (host-wide, so
#           other activity on the machine adds noise; run it on a quiet box).
# Runs inside a private network namespace (unshare -n); needs root. Bounded: serve stops
# by itself after the hold, and every wait below has a limit.
#
# usage: bench/load/hold_scale.sh [CONNECTIONS] [BINARY]
#   CONNECTIONS  default 100000 (the goal is 500000)
#   BINARY       default build/src/load/portpool-load
# environment: HOLD (default 20s), PING (ping interval, default 10s), PAYLOAD (default 32),
#   PER_WORKER (sockets per process, default 18000), PORTS_PER_SOURCE (default 28000),
#   CONCURRENCY (connects in flight, all workers, default 2048), RATE (default 0: unpaced)
set -euo pipefail

N=${1:-100000}
BIN=$(realpath "${2:-build/src/load/portpool-load}")
HOLD=${HOLD:-20s}
PING=${PING:-10s}
PAYLOAD=${PAYLOAD:-32}
PER_WORKER=${PER_WORKER:-18000}
PORTS_PER_SOURCE=${PORTS_PER_SOURCE:-28000}
CONCURRENCY=${CONCURRENCY:-2048}
RATE=${RATE:-0}

if [[ ${PORTPOOL_BENCH_INSIDE:-} != 1 ]]; then
  [[ -x $BIN ]] || { echo "hold_scale: no binary at $BIN (build first)" >&2; exit 2; }
  export PORTPOOL_BENCH_INSIDE=1 HOLD PING PAYLOAD PER_WORKER PORTS_PER_SOURCE CONCURRENCY RATE
  exec unshare -n -- "$0" "$N" "$BIN"
fi

# --- inside the private namespace ---
ip link set lo up
# Pool ports 20000-47999 stay outside the (narrowed) ephemeral range.
echo "50000 60999" > /proc/sys/net/ipv4/ip_local_port_range
echo 65535 > /proc/sys/net/core/somaxconn
echo 65535 > /proc/sys/net/ipv4/tcp_max_syn_backlog

client_workers=$(( (N + PER_WORKER - 1) / PER_WORKER ))
# SO_REUSEPORT spreads by hash, not evenly: 15% headroom per serve worker.
serve_workers=$(( (N * 115 / 100 + PER_WORKER - 1) / PER_WORKER ))
sources=$(( (N + PORTS_PER_SOURCE - 1) / PORTS_PER_SOURCE ))
(( sources < 2 )) && sources=2
last_port=$(( 20000 + PORTS_PER_SOURCE - 1 ))
source_range="127.0.0.2-127.0.0.$(( 1 + sources ))"
work=$(mktemp -d /tmp/portpool-hold-scale.XXXXXX)

slab_kb() { awk '/^Slab:/ {print $2}' /proc/meminfo; }
avail_kb() { awk '/^MemAvailable:/ {print $2}' /proc/meminfo; }
# Summed PSS and RSS (kB) of every portpool-load process.
mem_kb() {
  local pss=0 rss=0 p v
  for p in $(pgrep -x portpool-load); do
    v=$(awk '/^Pss:/ {print $2}' /proc/$p/smaps_rollup 2>/dev/null || echo 0); pss=$(( pss + ${v:-0} ))
    v=$(awk '/^VmRSS:/ {print $2}' /proc/$p/status 2>/dev/null || echo 0); rss=$(( rss + ${v:-0} ))
  done
  echo "$pss $rss"
}

echo "hold_scale: $N connections to 127.0.0.1:8080; client $client_workers workers," \
     "serve $serve_workers workers; sources $source_range x ports 20000-$last_port"
slab0=$(slab_kb); avail0=$(avail_kb)

"$BIN" serve --listen 127.0.0.1:8080 --workers "$serve_workers" --duration 15m \
  --progress 5s --json "$work/serve.json" > "$work/serve.out" 2>&1 &
serve_pid=$!
for _ in $(seq 100); do grep -q serving "$work/serve.out" && break; sleep 0.1; done
grep -q serving "$work/serve.out" || { cat "$work/serve.out"; exit 1; }

"$BIN" hold --target 127.0.0.1:8080 --source "$source_range" --ports "20000-$last_port" \
  --connections "$N" --workers "$client_workers" --concurrency "$CONCURRENCY" --rate "$RATE" \
  --payload "$PAYLOAD" --ping-interval "$PING" --duration "$HOLD" --connect-timeout 10s \
  --progress 2s --json "$work/hold.json" > "$work/hold.out" 2>&1 &
hold_pid=$!

# The peak: a few seconds after every worker ramped, while the connections are held.
for _ in $(seq 1800); do
  grep -q "ramp done" "$work/hold.out" && break
  kill -0 $hold_pid 2>/dev/null || break
  sleep 0.5
done
at_peak=0
grep -q "ramp done" "$work/hold.out" && at_peak=1
sleep 3
read -r pss rss < <(mem_kb)
slab1=$(slab_kb); avail1=$(avail_kb)
established=$(ss -Htn state established '( dport = :8080 )' | wc -l)

wait $hold_pid && hold_rc=0 || hold_rc=$?
kill -TERM $serve_pid; wait $serve_pid || true

cat "$work/hold.out"
echo "--- serve"; tail -n 8 "$work/serve.out"
python3 - "$work/hold.json" "$N" "$established" "$pss" "$rss" "$slab0" "$slab1" "$avail0" "$avail1" "$hold_rc" "$at_peak" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
n, est, pss, rss, slab0, slab1, avail0, avail1, rc, at_peak = map(int, sys.argv[2:])
held = r["held"]
print("--- hold_scale figures")
print(f"asked {n}, held {held} at once (client sockets established seen by ss: {est}), "
      f"failed {r['failed']} {r['errors']}, dropped {r['dropped']}, echo mismatches {r['echo_mismatch']}, exit {rc}")
print(f"setup: {r['ok']} in {r['ramp_seconds']:.1f} s = {r['conn_per_s']:.0f} conn/s; "
      f"connect p50 {r['connect_us']['p50']:.0f} us p99 {r['connect_us']['p99']:.0f} us max {r['connect_us']['max']:.0f} us")
print(f"echo round trips {r['echoes']}, p50 {r['echo_us']['p50']:.0f} us p99 {r['echo_us']['p99']:.0f} us")
if not at_peak:
    print("the ramp never finished: memory was not sampled at the peak, no per-connection figures")
elif held:
    print(f"user memory (both sides): PSS {pss/1024:.0f} MiB = {pss*1024/held:.0f} B/conn; RSS {rss/1024:.0f} MiB = {rss*1024/held:.0f} B/conn")
    print(f"kernel slab growth: {(slab1-slab0)/1024:.0f} MiB = {(slab1-slab0)*1024/held:.0f} B/conn (2 sockets each)")
    print(f"MemAvailable drop: {(avail0-avail1)/1024:.0f} MiB = {(avail0-avail1)*1024/held:.0f} B/conn")
PY
rm -rf "$work"
