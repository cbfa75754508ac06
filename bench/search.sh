#!/usr/bin/env bash
# The worst bounded search at scale: 300,000 sessions in one database (a
# 200,000-session conference, a 100,000-session one and the 5-talk seed).
#
#   bench/search.sh                      this build (target/release/confcal)
#   BASELINE=path/to/confcal bench/search.sh
#                                        and another binary beside it, on the
#                                        same data (an older one imports it,
#                                        this one then migrates a copy, timed)
#   bench/search.sh --small              20,000 + 10,000 sessions, to try it
#
# Slow (imports take a minute or more), so not part of the CI smoke run.
# Prints, per binary and conference, the status and time (median of 5) of
# the worst search the bounds allow: 8 `q` values, 16 words, every one a
# prefix of 3 characters that begins many words of the generated text. No
# number is asserted anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."

big=200000 two=100000
[ "${1:-}" = "--small" ] && big=20000 two=10000

cargo build --release --quiet
bin=$PWD/target/release/confcal
base=${BASELINE:-}
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
rows=()
row() { rows+=("$(printf '| %-8s | %-24s | %-8s | %10s | %s |' "$1" "$2" "$3" "$4" "$5")"); }

"$bin" generate --sessions "$big" > "$work/big.json"
"$bin" generate --sessions "$two" --seed 2 | python3 -c '
import json, sys
d = json.load(sys.stdin)
d["conference"]["slug"], d["conference"]["name"] = "bench-two", "Bench Two"
json.dump(d, sys.stdout)' > "$work/two.json"
importer=${base:-$bin}
/usr/bin/time -f '%e' -o "$work/import-time" "$importer" --db "$work/data.db" import \
    data/pycon-us-2012.json "$work/big.json" "$work/two.json" >/dev/null 2>&1
echo "imported $((big + two + 5)) sessions in $(cat "$work/import-time") s ($(basename "$importer"))" >&2

q="q=the+rep&q=the+tim&q=the+lea&q=the+res&q=the+sho&q=the+che&q=the+met&q=the+thr"

measure() { # LABEL BIN
    local label=$1 b=$2 db="$work/db-$1" port
    cp "$work/data.db" "$db"
    # Opening migrates an older database: time that on its own.
    /usr/bin/time -f '%e' -o "$work/open-time" "$b" --db "$db" export pycon-us-2012 >/dev/null 2>&1
    echo "$label: opening (migrating) the database took $(cat "$work/open-time") s" >&2
    port=$(free_port)
    RUST_LOG=warn "$b" --db "$db" serve --addr "127.0.0.1:$port" --data-dir "$work/none" >/dev/null 2>&1 &
    pids+=($!)
    for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
    for conf in "pycon-us-2012 5" "bench-two $two" "bench-conf $big"; do
        set -- $conf
        local path="/api/conferences/$1/sessions?$q" codes=() times=()
        for _ in 1 2 3 4 5; do
            read -r code t < <(curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$port$path")
            codes+=("$code"); times+=("$t")
        done
        row "$label" "$1 ($2)" "$(printf '%s\n' "${codes[@]}" | sort -u | tr '\n' ' ')" \
            "$(printf '%s\n' "${times[@]}" | median | awk '{printf "%.1f ms", $1*1000}')" "${#path}-byte path"
    done
    kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'
}

[ -n "$base" ] && measure baseline "$base"
measure this "$bin"

printf '| %-8s | %-24s | %-8s | %10s | %s |\n' binary conference status median notes
printf '|%s|%s|%s|%s|------|\n' "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..26})" "----------" "------------"
printf '%s\n' "${rows[@]}"
