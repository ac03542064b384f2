#!/usr/bin/env bash
# Builds the fuzz targets in fuzz/ and runs each for a bounded time (default 60 s each), like a benchmark: not part
# of `cargo test`. Exits non-zero when a target crashes (the input is kept in fuzz/artifacts/<target>/).
#
#   scripts/fuzz.sh [SECONDS] [TARGET…]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a C++ compiler. cargo-fuzz passes nightly-only flags to rustc;
# on a stable toolchain RUSTC_BOOTSTRAP=1 lets it (set here). Uses CARGO_TARGET_DIR when set, else fuzz/target.
set -euo pipefail

seconds="${1:-60}"
shift || true
cd "$(dirname "$0")/../fuzz"
export RUSTC_BOOTSTRAP=1

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build -O

failed=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    # Seed inputs kept in the repository (fuzz/seeds/<target>/) start the corpus.
    if [ -d "seeds/$target" ]; then
        cp -n "seeds/$target"/* "corpus/$target/" 2>/dev/null || true
    fi
    echo "== $target: ${seconds} s"
    log="artifacts/$target/run.log"
    if cargo fuzz run -O "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="artifacts/$target/" -print_final_stats=1 >"$log" 2>&1; then
        grep -E "^stat::number_of_executed_units|^stat::new_units_added|^stat::peak_rss_mb|Done [0-9]+ runs" "$log" || true
    else
        echo "!! $target crashed; see fuzz/$log and fuzz/artifacts/$target/"
        tail -n 30 "$log"
        failed+=("$target")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "crashed: ${failed[*]}"
    exit 1
fi
echo "all ${#targets[@]} targets ran ${seconds} s each without a crash"
