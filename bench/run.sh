#!/usr/bin/env bash
# confcal's benchmark: one command, one machine, one run, one table.
#
#   bench/run.sh           full run (1,000-session feed under wrk for 10 s per
#                          line; imports of 1k/10k/100k sessions and of the
#                          largest real schedule (36C3); the
#                          schedule.xml/json exports' cold render and cached rate; 100 followed
#                          sources answering 304, for 10 s; a whole, a
#                          filtered and an agenda feed through one replica
#                          and through nginx over three, on an SQLite file
#                          and on PostgreSQL, bench/replicas.py)
#   bench/run.sh --smoke   the same steps, small and short (CI runs this so
#                          the benchmark cannot rot; its numbers mean little)
#
# Installs what it needs (wrk, nginx, curl, GNU time) with apt when missing.
# Everything runs on loopback. No number here is asserted anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=0
[ "${1:-}" = "--smoke" ] && smoke=1
if [ $smoke = 1 ]; then
    main_n=300 sizes="300 1000" dur=2 cold_reps=5 big_reps=3 conns=8 sources=10
else
    main_n=1000 sizes="1000 10000 100000" dur=10 cold_reps=20 big_reps=5 conns=32 sources=100
fi

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v curl >/dev/null || need+=(curl)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

cargo build --release --quiet
bin=target/release/confcal
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -f "$work/nginx/nginx.pid" ] && kill "$(cat "$work/nginx/nginx.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 200); do curl -sf -o /dev/null "$1" && return 0; sleep 0.05; done; echo "no answer from $1" >&2; exit 1; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
rows=()
row() { rows+=("$(printf '| %-52s | %14s | %s |' "$1" "$2" "$3")"); }

# wrk URL [HEADER...] -> requests/s
rps() {
    local url=$1; shift
    local hdr=()
    for h in "$@"; do hdr+=(-H "$h"); done
    wrk -t2 -c"$conns" -d"${dur}s" "${hdr[@]}" "$url" | awk '/Requests\/sec/ {print $2}'
}

# The server refuses admin tokens under 32 characters (and a fixed one is
# fine for a server on loopback that lives for one measurement).
export BENCH_ADMIN_TOKEN=bench-admin-token-0123456789-abcdefghij

start_server() { # DB -> sets $base, appends pid
    local port; port=$(free_port)
    CONFCAL_ADMIN_TOKEN="$BENCH_ADMIN_TOKEN" RUST_LOG=warn "$bin" --db "$1" serve --addr "127.0.0.1:$port" \
        --data-dir "$work/none" >/dev/null 2>&1 &
    pids+=($!)
    base="http://127.0.0.1:$port"
    wait_up "$base/api/conferences"
}

stop_server() { kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'; }

# Changes one session's title through the admin API (forcing a fresh render).
touch_session() { # BASE N
    python3 - "$1" "$2" <<'PY'
import json, os, sys, urllib.request
base, n = sys.argv[1], sys.argv[2]
url = f"{base}/api/conferences/bench-conf/sessions/s000000"
s = json.load(urllib.request.urlopen(url))
doc = {k: s[k] for k in ("title", "speakers", "room", "tracks", "abstract", "notes", "url")}
doc["start"], doc["end"] = s["start"][:16] + s["start"][19:], s["end"][:16] + s["end"][19:]
doc["title"] = f"Changed {n}"
req = urllib.request.Request(url, data=json.dumps(doc).encode(), method="PUT",
    headers={"Authorization": "Bearer " + os.environ["BENCH_ADMIN_TOKEN"],
             "Content-Type": "application/json"})
urllib.request.urlopen(req).read()
PY
}

cold_ttfb() { # BASE URL REPS [HEADER] -> median ms
    local b=$1 url=$2 reps=$3 hdr=${4:-X-None: 1} out=()
    for i in $(seq "$reps"); do
        touch_session "$b" "$RANDOM$i"
        out+=("$(curl -s -o /dev/null -H "$hdr" -w '%{time_starttransfer}' "$url")")
    done
    printf '%s\n' "${out[@]}" | median | awk '{printf "%.2f", $1*1000}'
}

echo "confcal benchmark ($( [ $smoke = 1 ] && echo smoke || echo full )), $(nproc) cores, $(date -u +%FT%TZ)" >&2

# 5. Import time and peak RSS, per size.
for n in $sizes; do
    "$bin" generate --sessions "$n" > "$work/gen-$n.json"
    /usr/bin/time -f '%e %M' -o "$work/time-$n" "$bin" --db "$work/db-$n" import "$work/gen-$n.json" >/dev/null 2>&1
    read -r secs kb < "$work/time-$n"
    row "import $n sessions" "${secs} s" "peak RSS $((kb / 1024)) MB"
done
# The largest real published schedule (36C3, 1,351 events, 2.3 MB of frab
# XML), read from ../shared/ where the test inputs live, never copied here.
real36="$(dirname "$0")/../../shared/real-schedules/ccc-36c3-voc-merged.schedule.xml"
if [ -f "$real36" ]; then
    /usr/bin/time -f '%e %M' -o "$work/time-36c3" "$bin" --db "$work/db-36c3" import --timezone Europe/Berlin "$real36" >/dev/null 2>&1
    read -r secs kb < "$work/time-36c3"
    row "import 36C3 (real frab XML, 1351 events)" "${secs} s" "peak RSS $((kb / 1024)) MB"
    /usr/bin/time -f '%e %M' -o "$work/time-36c3" "$bin" --db "$work/db-36c3" import --timezone Europe/Berlin "$real36" >/dev/null 2>&1
    read -r secs kb < "$work/time-36c3"
    row "import 36C3 again (all unchanged)" "${secs} s" "peak RSS $((kb / 1024)) MB"
else
    echo "bench: $real36 not found; the real-schedule import row is left out" >&2
fi
[ -f "$work/db-$main_n" ] || { "$bin" generate --sessions "$main_n" > "$work/gen-$main_n.json"; "$bin" --db "$work/db-$main_n" import "$work/gen-$main_n.json" >/dev/null; }

# The steady-state lines, on the main conference.
start_server "$work/db-$main_n"
feed="$base/conferences/bench-conf/sessions.ics"
curl -s -o "$work/feed.ics" "$feed"
size=$(stat -c %s "$work/feed.ics")
token=$(curl -s -X POST "$base/api/agendas" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
for i in $(seq 0 49); do
    curl -s -o /dev/null -X PUT "$base/api/agendas/$token/sessions/bench-conf/$(printf 's%06d' $((i * 5)))"
done
etag=$(curl -sI "$feed" | awk -F': ' 'tolower($1)=="etag" {print $2}' | tr -d '\r')
first_day=$(python3 -c "import json; d=json.load(open('$work/gen-$main_n.json')); print(d['sessions'][0]['start'][:10])")

# nginx serving the same bytes (and a gzip copy for gzip_static).
mkdir -p "$work/nginx/www" "$work/nginx/logs"
cp "$work/feed.ics" "$work/nginx/www/feed.ics"
gzip -k -6 "$work/nginx/www/feed.ics"
nport=$(free_port)
cat > "$work/nginx/nginx.conf" <<NGINX
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    gzip_static on;
    types { text/calendar ics; }
    client_body_temp_path $work/nginx/tmp; proxy_temp_path $work/nginx/tmp;
    fastcgi_temp_path $work/nginx/tmp; uwsgi_temp_path $work/nginx/tmp; scgi_temp_path $work/nginx/tmp;
    server { listen 127.0.0.1:$nport; root $work/nginx/www; }
}
NGINX
mkdir -p "$work/nginx/tmp"
# nginx workers run as an unprivileged user: let them read the files.
chmod 755 "$work"; chmod -R a+rX "$work/nginx"
"$NGINX" -c "$work/nginx/nginx.conf" -p "$work/nginx/" || { cat "$work/nginx/logs/error.log" >&2; exit 1; }
wait_up "http://127.0.0.1:$nport/feed.ics"
static="http://127.0.0.1:$nport/feed.ics"

for enc in identity gzip; do
    ae="Accept-Encoding: $enc"
    c=$(rps "$feed" "$ae"); n=$(rps "$static" "$ae")
    row "whole feed, $main_n sessions ($((size / 1024)) KB), $enc" "$c req/s" "nginx $n req/s, ratio $(awk -v a="$c" -v b="$n" 'BEGIN {printf "%.2f", a/b}')"
    row "filtered feed (one day, one room), $enc" "$(rps "$feed?day=$first_day&room=Room%2001" "$ae") req/s" ""
    row "single talk .ics, $enc" "$(rps "$base/conferences/bench-conf/sessions/s000000.ics" "$ae") req/s" ""
    row "agenda feed, 50 stars, $enc" "$(rps "$base/agendas/$token.ics" "$ae") req/s" ""
done
row "304 revalidation (If-None-Match)" "$(rps "$feed" "If-None-Match: $etag") req/s" ""
row "cold render after a change, TTFB (median of $cold_reps)" "$(cold_ttfb "$base" "$feed" "$cold_reps") ms" "whole feed, $main_n sessions"
row "cold render after a change, gzip, TTFB" "$(cold_ttfb "$base" "$feed" "$cold_reps" 'Accept-Encoding: gzip') ms" "whole feed, $main_n sessions"
# The schedule-app exports: rendered from the same data on first request
# after a change, then served from the feeds' cache.
for doc in xml json; do
    u="$base/conferences/bench-conf/schedule.$doc"
    bytes=$(curl -s "$u" | wc -c)
    row "schedule.$doc cold render after a change, TTFB" "$(cold_ttfb "$base" "$u" "$cold_reps") ms" "median of $cold_reps; $main_n sessions, $((bytes / 1024)) KB"
    row "schedule.$doc cached, gzip" "$(rps "$u" "Accept-Encoding: gzip") req/s" ""
done
# The attendee's pages (issue 16): HTML weight and server time of the
# list (every session) and of one day's timetable. The browser's render
# time is measured by scripts/e2e (target/screenshots/figures.json).
for page in "conferences/bench-conf" "conferences/bench-conf/timetable?day=$first_day"; do
    u="$base/$page"
    bytes=$(curl -s "$u" | wc -c)
    gz=$(curl -s -H 'Accept-Encoding: gzip' "$u" | wc -c)
    ms=$(for _ in $(seq "$cold_reps"); do curl -s -o /dev/null -w '%{time_total}\n' "$u"; done | awk '{print $1 * 1000}' | median)
    row "page /$page" "$((bytes / 1024)) KB" "gzip $((gz / 1024)) KB; full response $ms ms (median of $cold_reps)"
    row "page /$page, rate" "$(rps "$u") req/s" ""
done
stop_server

# Cold whole-feed render at each size.
for n in $sizes; do
    start_server "$work/db-$n"
    u="$base/conferences/bench-conf/sessions.ics"
    ttfb=$(cold_ttfb "$base" "$u" "$big_reps")
    gz=$(cold_ttfb "$base" "$u" "$big_reps" 'Accept-Encoding: gzip')
    hwm=$(awk '/VmHWM/ {printf "%d", $2 / 1024}' "/proc/${pids[-1]}/status")
    row "cold render, $n sessions, TTFB (median of $big_reps)" "$ttfb ms" "gzip: $gz ms; server peak RSS $hwm MB"
    stop_server
done

# Following sources that answer 304: every source due every second, so the
# server is asked for as many fetches as it can do (bench/follow_sources.py).
python3 bench/follow_sources.py "$bin" --sources "$sources" --seconds "$dur" > "$work/follow"
fv() { awk -v k="$1" '$1 == k {print $2}' "$work/follow"; }
row "following $sources sources answering 304, CPU per round" "$(fv server_cpu_ms_per_round) ms" \
    "$(fv fetches_per_second) fetches/s at every_seconds=1 ($(fv server_cpu_percent)% of a core); $(fv server_cpu_ms_per_fetch) ms per fetch"

# Several replicas: the same three feeds through one replica and through
# nginx (deploy/nginx/confcal.conf) over three, on one SQLite file the three
# share and on a throwaway PostgreSQL (scripts/with-postgres), when this
# binary has that backend; the ratio is PostgreSQL's to SQLite's in the same
# set-up.
python3 bench/replicas.py "$bin" "$work/replicas.db" "$work/gen-$main_n.json" --seconds "$dur" --conns "$conns" \
    > "$work/replicas-sqlite"
if "$bin" serve --help 2>/dev/null | grep 'postgres://' >/dev/null; then
    scripts/with-postgres sh -c 'exec python3 bench/replicas.py "$1" "$CONFCAL_TEST_POSTGRES" "$2" --seconds "$3" --conns "$4"' \
        sh "$bin" "$work/gen-$main_n.json" "$dur" "$conns" > "$work/replicas-pg"
else
    echo "bench: this binary has no PostgreSQL backend; the PostgreSQL rows show SQLite's only" >&2
    : > "$work/replicas-pg"
fi
rv() { awk -v k="$2" '$1 == k {print $2}' "$1"; }
for feedname in whole filtered agenda; do
    case $feedname in
        whole) label="whole feed" ;;
        filtered) label="filtered feed" ;;
        agenda) label="agenda feed" ;;
    esac
    for via in one nginx; do
        [ $via = one ] && where="1 replica" || where="nginx, 3 replicas"
        sq=$(rv "$work/replicas-sqlite" "${feedname}_$via"); pg=$(rv "$work/replicas-pg" "${feedname}_$via")
        if [ -n "$pg" ]; then
            row "PostgreSQL: $label, $where" "$pg req/s" "SQLite $sq req/s, ratio $(awk -v a="$pg" -v b="$sq" 'BEGIN {printf "%.2f", a/b}')"
        else
            row "PostgreSQL: $label, $where" "-" "SQLite $sq req/s (no PostgreSQL backend in this binary)"
        fi
    done
done

printf '| %-52s | %14s | %s |\n' "measure" "confcal" "notes"
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..54})" "$(printf -- '-%.0s' {1..16})" "------"
printf '%s\n' "${rows[@]}"
