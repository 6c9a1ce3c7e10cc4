#!/usr/bin/env bash
# Load on `bert serve` with wrk: /v1/embeddings on all-MiniLM-L6-v2, requests
# of 1 to 20 real sentences (the demo's sentence-polarity corpus), at
# concurrency 1, 8 and 64, then a mixed run in which 10% of the requests are
# malformed (every one must get a 4xx, and no response a 5xx). Samples the
# server's resident memory (VmRSS) every second over the whole run. For
# comparison it also times `bert encode` offline on the same sentences.
#
#   Benchmarks/serve_load.sh                   # 30 s a step, results in serve-load/
#   DURATION=5s Benchmarks/serve_load.sh       # a quick check
#
# Environment: DURATION (wrk's -d, default 30s), MIXED_DURATION (the mixed run
# at concurrency 64, default 300s: the 5-minute memory run), ROBUST_REQUESTS
# (a last run of at least that many requests, 10% malformed, at concurrency 64;
# default 10000, about 17 minutes on 2 cores; 0 skips it), OUT (default serve-load),
# PORT (default 18080), SERVER_CPUS and LOAD_CPUS (taskset lists; default: the
# server on CPU 0, wrk on CPU 1 of a 2-core machine), SERVER_THREADS (the
# server's compute threads, default 1, one per server CPU), MAX_BATCH_TOKENS
# (default 8192), MAX_WAIT_MS (default 5), REQUESTS (bodies generated, default
# 2000), BERT (a built bert; default: swift build -c release). Needs wrk
# (installed with apt-get if missing), python3, and the assets
# (scripts/fetch-assets model polarity, run if missing).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
duration="${DURATION:-30s}"
mixed_duration="${MIXED_DURATION:-300s}"
out="${OUT:-serve-load}"
port="${PORT:-18080}"
server_cpus="${SERVER_CPUS:-0}"
load_cpus="${LOAD_CPUS:-1}"
server_threads="${SERVER_THREADS:-1}"
max_batch_tokens="${MAX_BATCH_TOKENS:-8192}"
max_wait_ms="${MAX_WAIT_MS:-5}"
requests="${REQUESTS:-2000}"
assets="${BERT_ASSETS:-${XDG_CACHE_HOME:-$HOME/.cache}/bert-swift/assets}"
model="$assets/all-MiniLM-L6-v2"
corpus="$assets/data/polarity.csv"

if ! command -v wrk > /dev/null; then
  echo "serve_load: installing wrk" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk > /dev/null || { apt-get update > /dev/null && apt-get install -y wrk > /dev/null; }
  else sudo apt-get install -y wrk > /dev/null; fi
fi
[ -f "$model/model.safetensors" ] || "$root/scripts/fetch-assets" model
[ -f "$corpus" ] || "$root/scripts/fetch-assets" polarity
if [ -z "${BERT:-}" ]; then
  (cd "$root" && swift build -c release --product bert > /dev/null)
  BERT="$root/.build/release/bert"
fi
mkdir -p "$out"

# Bodies: REQUESTS requests of 1 to 20 sentences each, drawn with a fixed seed;
# and every sentence they hold, one per line, for bert encode.
python3 - "$corpus" "$requests" "$out/bodies.jsonl" "$out/sentences.txt" << 'PY'
import csv, json, random, sys
corpus, count, bodies, sentences = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with open(corpus, encoding="utf-8-sig", newline="") as f:
    texts = [" ".join(row[1].split()) for row in csv.reader(f) if len(row) >= 2 and row[1].strip()]
rng = random.Random(42)
used = []
with open(bodies, "w") as f:
    for _ in range(count):
        batch = rng.sample(texts, rng.randint(1, 20))
        used += batch
        f.write(json.dumps({"model": "all-MiniLM-L6-v2", "input": batch}) + "\n")
with open(sentences, "w") as f:
    f.write("\n".join(used) + "\n")
print(f"serve_load: {count} requests, {len(used)} sentences from {len(texts)}", file=sys.stderr)
PY

"$BERT" info --threads "$server_threads" > "$out/info.txt" 2>&1 || true

# Offline: bert encode on the same sentences, one process, the server's CPUs and threads.
start=$(date +%s.%N)
taskset -c "$server_cpus" "$BERT" encode --model "$model" --threads "$server_threads" \
  --max-batch-tokens "$max_batch_tokens" < "$out/sentences.txt" > /dev/null
end=$(date +%s.%N)
sentences=$(wc -l < "$out/sentences.txt")
python3 -c "import json,sys; s=float(sys.argv[2])-float(sys.argv[1]); print(json.dumps({'offline_sentences':int(sys.argv[3]),'seconds':round(s,3),'sentences_per_second':round(int(sys.argv[3])/s,2)}))" \
  "$start" "$end" "$sentences" | tee "$out/offline.json"

taskset -c "$server_cpus" "$BERT" serve --model "$model" --port "$port" --threads "$server_threads" \
  --max-batch-tokens "$max_batch_tokens" --max-wait-ms "$max_wait_ms" --max-queue 1024 \
  2> "$out/server.log" &
server=$!
stop() {
  kill -TERM "$server" 2> /dev/null || true
  wait "$server" 2> /dev/null || true
  [ -n "${sampler:-}" ] && kill "$sampler" 2> /dev/null || true
}
trap stop EXIT
for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$port/health" > /dev/null && break
  kill -0 "$server" 2> /dev/null || { cat "$out/server.log" >&2; exit 1; }
  sleep 0.1
done

# RSS of the server, one sample a second: seconds since start, kB.
( t=0; while kill -0 "$server" 2> /dev/null; do
    awk -v t="$t" '/^VmRSS/ {print t, $2}' "/proc/$server/status" 2> /dev/null || true
    sleep 1; t=$((t + 1))
  done ) > "$out/rss.txt" &
sampler=$!

run() {  # name connections malformed-share
  local threads=$(( $2 < 2 ? 1 : 2 ))
  echo "serve_load: $1: $2 connections, $duration" >&2
  taskset -c "$load_cpus" wrk -t"$threads" -c"$2" -d"$duration" --timeout 30s \
    -s "$here/serve_load.lua" "http://127.0.0.1:$port" -- "$out/bodies.jsonl" "$3" \
    | tail -n 1 | python3 -c "import json,sys; r=json.loads(sys.stdin.read()); r['run']='$1'; r['connections']=$2; print(json.dumps(r))" \
    | tee -a "$out/results.jsonl"
}
: > "$out/results.jsonl"
run c1 1 0
# After c1 every batch held one request: the server's forward-pass histogram is
# then the single-forward time of those requests, the bound for c1's latency.
curl -s "http://127.0.0.1:$port/metrics" > "$out/metrics-c1.txt"
run c8 8 0
curl -s "http://127.0.0.1:$port/metrics" > "$out/metrics-before-c64.txt"
run c64 64 0
curl -s "http://127.0.0.1:$port/metrics" > "$out/metrics-after-c64.txt"
mixed_start=$(awk 'END {print $1}' "$out/rss.txt")
duration="$mixed_duration" run mixed64 64 0.1
# Robustness: at least ROBUST_REQUESTS requests (default 10,000), 10% malformed,
# however long they take: wrk runs until the server has answered that many more
# (its own request counter), then SIGINT makes it stop and report.
answered() {
  curl -s "http://127.0.0.1:$port/metrics" \
    | awk '/^bert_request_duration_seconds_count\{route="\/v1\/embeddings"\}/ {print int($2)}'
}
robust="${ROBUST_REQUESTS:-10000}"
if [ "$robust" -gt 0 ]; then
  previous=-1  # let the requests the last run left behind finish first
  while [ "$(answered)" != "$previous" ]; do previous=$(answered); sleep 3; done
  target=$(( previous + robust ))
  duration=12h run robust64 64 0.1 &
  runner=$!
  while [ "$(answered)" -lt "$target" ] && kill -0 "$runner" 2> /dev/null; do sleep 2; done
  pkill -INT -x wrk || true
  wait "$runner"
fi
curl -s "http://127.0.0.1:$port/metrics" > "$out/metrics.txt"

kill -TERM "$server"
wait "$server" && status=0 || status=$?
trap - EXIT
kill "$sampler" 2> /dev/null || true
python3 - "$out" "$status" "${mixed_start:-0}" << 'PY'
import json, sys
out, status, mixed_start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3] or 0)
samples = [tuple(map(int, line.split())) for line in open(f"{out}/rss.txt") if line.strip()]
rss = [kb for _, kb in samples]
mixed_rss = [kb for t, kb in samples if t >= mixed_start]
c1 = {}
for line in open(f"{out}/metrics-c1.txt"):
    if line.startswith("bert_forward_duration_seconds_sum"): c1["sum"] = float(line.split()[-1])
    if line.startswith("bert_forward_duration_seconds_count"): c1["count"] = float(line.split()[-1])
results = [json.loads(line) for line in open(f"{out}/results.jsonl")]
five = sum(v for r in results for k, v in r["statuses"].items() if k.startswith("5"))
mixed = next(r for r in results if r["run"] == "mixed64")
c1run = next(r for r in results if r["run"] == "c1")
c64 = next(r for r in results if r["run"] == "c64")
offline = json.load(open(f"{out}/offline.json"))["sentences_per_second"]
def sequences(name):
    return next(float(l.split()[-1]) for l in open(f"{out}/{name}") if l.startswith("bert_sequences_total"))
c64_rate = (sequences("metrics-after-c64.txt") - sequences("metrics-before-c64.txt")) / c64["seconds"]
fours = sum(v for k, v in mixed["statuses"].items() if k.startswith("4"))
robust = next((r for r in results if r["run"] == "robust64"), None)
summary = {
    "server_exit_status": status,
    "rss_kb_first": rss[0] if rss else None, "rss_kb_peak": max(rss) if rss else None,
    "rss_kb_last": rss[-1] if rss else None, "rss_samples": len(rss),
    "rss_kb_mixed_first_minute_peak": max(mixed_rss[:60]) if mixed_rss else None,
    "rss_kb_mixed_peak": max(mixed_rss) if mixed_rss else None,
    "c1_forward_mean_ms": round(1000 * c1["sum"] / c1["count"], 3) if c1.get("count") else None,
    "c1_p99_over_inference_p99": round(c1run["p99_ms"] / c1run["inference_p99_ms"], 3)
    if c1run.get("inference_p99_ms") else None,
    "c64_sentences_per_second": round(c64_rate, 2),
    "c64_over_offline": round(c64_rate / offline, 3),
    "robust_requests": robust["requests"] if robust else None,
    "robust_malformed_sent": robust["malformed_sent"] if robust else None,
    "robust_4xx": sum(v for k, v in robust["statuses"].items() if k.startswith("4")) if robust else None,
    "responses_5xx": five, "mixed_malformed_sent": mixed["malformed_sent"], "mixed_4xx": fours,
}
print(json.dumps(summary))
json.dump(summary, open(f"{out}/summary.json", "w"), indent=1)
PY
