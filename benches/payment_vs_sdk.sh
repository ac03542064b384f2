#!/usr/bin/env bash
# One instant Alipay payment, side by side against one stand-alone loopback sandbox: the TillDesk checkout engine
# (durable write-ahead order and PAID, synchronous=FULL) and python-alipay-sdk (stores nothing), in alternating
# rounds of COUNT payments each. Prints p50/p99 of both per round and the ratio engine / SDK.
#
#   pip install python-alipay-sdk
#   benches/payment_vs_sdk.sh [COUNT=300] [ROUNDS=3]
#
# PAYMENT_BENCH_DIR (default /var/tmp) holds the sandbox's data and the till's database: a real disk, not tmpfs.
set -euo pipefail
COUNT=${1:-300}
ROUNDS=${2:-3}
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin tilldesk --example payment_engine
BIN="${CARGO_TARGET_DIR:-target}/release"
WORK=$(mktemp -d "${PAYMENT_BENCH_DIR:-/var/tmp}/tilldesk-paybench.XXXXXX")
"$BIN/tilldesk" sandbox --listen 127.0.0.1:0 --data "$WORK/sandbox" > "$WORK/sandbox.out" 2> "$WORK/sandbox.err" &
SANDBOX=$!
trap 'kill $SANDBOX 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 200); do
    grep -q '^listening on ' "$WORK/sandbox.out" 2>/dev/null && break
    sleep 0.05
done
URL=$(sed -n 's/^listening on //p' "$WORK/sandbox.out" | head -n1)
[ -n "$URL" ] || { echo "the sandbox did not start: $(cat "$WORK/sandbox.err")" >&2; exit 1; }
echo "sandbox at $URL; $ROUNDS rounds of $COUNT payments each side; load: $(cut -d' ' -f1-3 /proc/loadavg)"
p50() { sed -n 's/.* p50=\([0-9.]*\) ms.*/\1/p'; }
p99() { sed -n 's/.* p99=\([0-9.]*\) ms.*/\1/p'; }
for round in $(seq 1 "$ROUNDS"); do
    ENGINE=$("$BIN/examples/payment_engine" --sandbox "$URL" --data "$WORK/sandbox" --db "$WORK/till.sqlite3" \
        --count "$COUNT")
    SDK=$(python3 benches/python/alipay_sdk_pay.py --sandbox "$URL" --data "$WORK/sandbox" --count "$COUNT")
    echo "round $round: $ENGINE"
    echo "round $round: $SDK"
    awk -v e50="$(echo "$ENGINE" | p50)" -v s50="$(echo "$SDK" | p50)" -v e99="$(echo "$ENGINE" | p99)" \
        -v s99="$(echo "$SDK" | p99)" 'BEGIN {
            printf "round %s: ratio engine/SDK p50 %.2f, p99 %.2f; engine p99/p50 %.2f\n", '"$round"', e50 / s50, e99 / s99, e99 / e50 }'
done
"$BIN/examples/payment_engine" --sandbox "$URL" --data "$WORK/sandbox" --db "$WORK/till.sqlite3" --count 50 \
    --warmup 0 --breakdown | tail -n 2
