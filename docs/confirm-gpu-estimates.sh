#!/usr/bin/env bash
# Confirms or refutes the GPU latency model of docs/gpu.md on a real GPU, in at most 10 minutes:
# 12 runs of `tos-pool bench verify --backend gpu --json`, each capped at 40 s (normally seconds).
#
#   cargo build --release -p tos-pool      # first; not part of the 10 minutes
#   bash docs/confirm-gpu-estimates.sh     # from the repository root
#
# Needs bash, coreutils `timeout` and python3. TOS_POOL=/path/to/tos-pool overrides the binary.
# The CPU rasteriser (llvmpipe) is deliberately NOT allowed: the runs fail if no real GPU is used.
# DRY_RUN_ON_CPU=1 allows it with tiny runs, only to check this script on a machine without a GPU.
set -u

EXTRA=()
DRY=${DRY_RUN_ON_CPU:-0}
[[ $DRY == 1 ]] && EXTRA=(--allow-cpu-adapter --workgroup-size 64)

BIN=${TOS_POOL:-target/release/tos-pool}
if [[ ! -x $BIN ]]; then
    echo "no $BIN: run 'cargo build --release -p tos-pool' first (or set TOS_POOL)" >&2
    exit 2
fi
OUT="gpu-estimates-$(hostname)-$(date +%Y%m%d-%H%M%S).jsonl"
: >"$OUT"

# run LABEL ARGS...: one bench run, its JSON line tagged with LABEL, appended to $OUT.
run() {
    local label=$1
    shift
    echo "== $label: $BIN bench verify $*" >&2
    local json
    if json=$(timeout 40 "$BIN" bench verify --json "${EXTRA[@]}" "$@" 2> >(tail -n 3 >&2)); then
        printf '{"label":"%s","result":%s}\n' "$label" "$json" >>"$OUT"
    else
        printf '{"label":"%s","result":null}\n' "$label" >>"$OUT"
        echo "   (failed or timed out)" >&2
    fi
}

# Enough batches for stable medians; a few seconds each at the estimated speeds.
shares() {
    if [[ $DRY == 1 ]]; then echo "$1"; else echo $(($1 * 64 > 65536 ? $1 * 64 : 65536)); fi
}

for b in 256 1024 4096 16384; do
    run "lane/$b" --backend gpu --kernel lane --batch "$b" --shares "$(shares "$b")"
done
for b in 256 1024 4096 16384; do
    run "coop/$b" --backend gpu --kernel coop --batch "$b" --shares "$(shares "$b")"
done
for wm in 0 16384 32768; do
    run "coop-wg$((wm / 1024))k/4096" --backend gpu --kernel coop --workgroup-memory "$wm" \
        --batch 4096 --shares "$(shares 4096)"
done
run "auto/1024" --backend auto --batch 1024 --shares "$(shares 1024)"

python3 - "$OUT" <<'PY'
import json, sys

# (kernel time ms low, high), (hashes/s low, high): the estimates of docs/gpu.md (H100 SXM / H200).
EST = {
    "lane/256": ((1.4, 2.7), (95e3, 180e3)),
    "lane/1024": ((2.0, 4.5), (230e3, 510e3)),
    "lane/4096": ((4.0, 5.5), (0.75e6, 1.0e6)),
    "lane/16384": ((4.0, 9.0), (1.8e6, 4.1e6)),
    "coop/256": ((0.13, 0.22), (0.85e6, 1.3e6)),
    "coop/1024": ((0.26, 0.44), (2.0e6, 3.4e6)),
    "coop/4096": ((1.0, 1.8), (2.3e6, 4.0e6)),
    "coop/16384": ((4.2, 7.0), (2.3e6, 3.9e6)),
}

def verdict(value, lo, hi, lower_is_better):
    if value is None:
        return "n/a"
    if lo <= value <= hi:
        return "confirms"
    better = value < lo if lower_is_better else value > hi
    return "beats" if better else "REFUTES"

rows = [json.loads(l) for l in open(sys.argv[1])]
adapter = next((r["result"]["adapter"] for r in rows if r["result"] and r["result"].get("adapter")), None)
if adapter:
    print(f"adapter: {adapter['name']} ({adapter['backend']}, {adapter['device_type']}), "
          f"timestamps: {adapter['timestamps']}")
    if adapter["device_type"] == "cpu":
        print("WARNING: a CPU rasteriser; these figures say nothing about a GPU")
print(f"{'run':<18}{'kernel ms':>10}{'batch ms':>10}{'hashes/s':>12}   {'estimate (kernel ms | H/s)':<30}verdict")
goal = {}
for r in rows:
    label, res = r["label"], r["result"]
    if res is None:
        print(f"{label:<18}{'failed or timed out':>32}")
        continue
    t = res.get("gpu_timing") or {}
    kms, bms, rate = t.get("kernel_ms_p50"), res["batch_latency_ms_p50"], res["hashes_per_second"]
    est = EST.get(label)
    if est:
        (klo, khi), (rlo, rhi) = est
        v = f"time {verdict(kms, klo, khi, True)}, rate {verdict(rate, rlo, rhi, False)}"
        e = f"{klo}-{khi} | {rlo/1e6:.2f}-{rhi/1e6:.2f} M"
    else:
        v, e = "(no estimate)", ""
    if label.startswith("auto"):
        # The engine may have picked the CPU backend; `implementation` says which.
        e = res["implementation"][:29]
    ktxt = f"{kms:.3f}" if kms is not None else "-"
    print(f"{label:<18}{ktxt:>10}{bms:>10.3f}{rate:>12.0f}   {e:<30}{v}")
    goal[label] = (bms, rate)
best_1024 = min((goal[k][0] for k in ("lane/1024", "coop/1024") if k in goal), default=None)
best_4096 = max((goal[k][1] for k in goal if k.endswith("/4096")), default=None)
print()
if best_1024 is not None:
    print(f"goal <= 1 ms per batch of 1,024: best p50 {best_1024:.3f} ms -> {'met' if best_1024 <= 1.0 else 'NOT met'}")
if best_4096 is not None:
    print(f"goal >= 2 M hashes/s at 4,096: best {best_4096:,.0f} hashes/s -> {'met' if best_4096 >= 2e6 else 'NOT met'}")
print(f"raw results: {sys.argv[1]}")
PY
