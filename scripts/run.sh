#!/usr/bin/env bash
# scripts/run.sh: what `make run` calls after building bin/edge-admin and bin/edge.
#
# Starts, on loopback only:
#   - a private redis-server on 127.0.0.1:${REDIS_PORT:-6390}, its data under ./run/redis;
#   - edge-admin serve on ${EDGE_ADMIN_ADDR:-127.0.0.1:8081} with a fresh bootstrap token;
#   - the Northside Family Clinic's development, staging and production workspaces, made from
#     configs/northside-*.yaml (production's agent configuration by promotion from staging);
#   - bin/edge and bin/edge-agent when they were built;
# writes the workspaces' ids and owner keys to ./run/keys.env (mode 600), prints how to place a
# test call, and stops everything on Ctrl-C. Running it again stops what an earlier run left
# behind (only the processes it recorded in ./run/pids) and starts from a clean ./run.
#
# Environment: REDIS_PORT, EDGE_ADMIN_ADDR, EDGE_SIP_ADDR, EDGE_HTTP_ADDR, EDGE_METRICS_ADDR, EDGE_RTP_PORTS,
# EDGE_PUBLIC_IP, EDGE_NODE_ID, EDGE_ICE_PORT, EDGE_AGENT_SIP_ADDR (where the reference agent
# listens; the services of configs/ point at its default, 127.0.0.2:5070),
# NORTHSIDE_PROD_TRUNK_PASSWORD (generated when unset), BIN_DIR (default bin), RUN_DIR (default run).
#
# Every program runs in a session of its own (setsid), so a Ctrl-C in the terminal reaches only
# this script, which then stops them in order: the edge first (its calls end and their records
# and events are written while Redis is still there), then the agent, edge-admin, Redis last.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN_DIR=${BIN_DIR:-bin}
RUN_DIR=${RUN_DIR:-run}
REDIS_PORT=${REDIS_PORT:-6390}
ADMIN_ADDR=${EDGE_ADMIN_ADDR:-127.0.0.1:8081}
ADMIN_URL="http://$ADMIN_ADDR"
SIP_ADDR=${EDGE_SIP_ADDR:-127.0.0.1:5060}
HTTP_ADDR=${EDGE_HTTP_ADDR:-127.0.0.1:8080}
METRICS_ADDR=${EDGE_METRICS_ADDR:-127.0.0.1:9090}
RTP_PORTS=${EDGE_RTP_PORTS:-10000-20000}
PUBLIC_IP=${EDGE_PUBLIC_IP:-127.0.0.1}
NODE_ID=${EDGE_NODE_ID:-edge-local-1}
AGENT_ADDR=${EDGE_AGENT_SIP_ADDR:-127.0.0.2:5070}
ADMIN="$BIN_DIR/edge-admin"

log() { printf 'run: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

case "$RUN_DIR" in "" | / | . | ..) die "RUN_DIR=$RUN_DIR: refusing to use it" ;; esac
mkdir -p "$RUN_DIR"
RUN_DIR=$(cd "$RUN_DIR" && pwd)
[ -x "$ADMIN" ] || die "$ADMIN not found: run 'make build' (or 'make run')"
command -v redis-server >/dev/null || die "redis-server not found: run scripts/install-deps.sh"

random_token() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# --- leftovers of an earlier run -------------------------------------------------------------
# A pid file holds "pid program"; a process is stopped only if it still runs that program.
stop_recorded() {
  local f pid prog args
  # The earlier run.sh first: its trap stops its own processes.
  for f in "$RUN_DIR"/pids/run.pid "$RUN_DIR"/pids/*.pid; do
    [ -e "$f" ] || continue
    read -r pid prog <"$f" || true
    if [ -n "${pid:-}" ] && [ "$pid" != $$ ] && kill -0 "$pid" 2>/dev/null; then
      args=$(ps -o args= -p "$pid" 2>/dev/null || true)
      if [[ "$args" == *"$prog"* ]]; then
        log "stopping $(basename "$f" .pid) (pid $pid) left by an earlier run"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
    rm -f "$f"
  done
}
stop_recorded
rm -rf "${RUN_DIR:?}/redis" "${RUN_DIR:?}/logs" "${RUN_DIR:?}/pids" "${RUN_DIR:?}/keys.env"
mkdir -p "$RUN_DIR/redis" "$RUN_DIR/logs" "$RUN_DIR/pids"
chmod 700 "$RUN_DIR"
echo "$$ run.sh" >"$RUN_DIR/pids/run.pid"

# --- process bookkeeping ---------------------------------------------------------------------
names=()
pids=()
# start NAME PROGRAM ARGS...: runs PROGRAM in the background in a session of its own (so the
# terminal's Ctrl-C does not reach it before its turn), output to run/logs/NAME.log.
start() {
  local name=$1
  shift
  setsid "$@" >"$RUN_DIR/logs/$name.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid $(basename "$1")" >"$RUN_DIR/pids/$name.pid"
  names+=("$name")
  pids+=("$pid")
}

stopping=0
# stop_one I SIGNAL SECONDS: signals process I and waits for it, then kills it.
stop_one() {
  local pid=${pids[$1]} i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  log "stopping ${names[$1]} (pid $pid)"
  kill "-$2" "$pid" 2>/dev/null || true
  for ((i = 0; i < $3 * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    log "${names[$1]} did not stop within $3s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# stop_all stops the processes one at a time, newest first (edge, agent, edge-admin, Redis), so
# that each one's last writes find the ones it writes to. The edge gets SIGINT: it ends its calls
# at once and records them (SIGTERM would drain for as long as calls last).
stop_all() {
  [ "$stopping" = 1 ] && return
  stopping=1
  local i pid
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    case "${names[$i]}" in
      edge) stop_one "$i" INT 20 ;;
      *) stop_one "$i" TERM 10 ;;
    esac
  done
  # Only this run's pid files: a newer run may have started meanwhile.
  for i in "${!pids[@]}"; do
    read -r pid _ <"$RUN_DIR/pids/${names[$i]}.pid" 2>/dev/null && [ "$pid" = "${pids[$i]}" ] &&
      rm -f "$RUN_DIR/pids/${names[$i]}.pid"
  done
  read -r pid _ <"$RUN_DIR/pids/run.pid" 2>/dev/null && [ "$pid" = $$ ] && rm -f "$RUN_DIR/pids/run.pid"
  return 0
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# alive NAME PID: fails, showing the end of its log, when the process has exited.
alive() {
  if ! kill -0 "$2" 2>/dev/null; then
    log "$1 exited; the end of $RUN_DIR/logs/$1.log:"
    tail -n 20 "$RUN_DIR/logs/$1.log" >&2 || true
    return 1
  fi
}

http_ok() { curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null; }

# wait_http NAME PID URL SECONDS
wait_http() {
  local i
  for ((i = 0; i < $4 * 10; i++)); do
    alive "$1" "$2" || return 1
    http_ok "$3" && return 0
    sleep 0.1
  done
  log "$1 did not answer $3 within $4s"
  return 1
}

# --- Redis -----------------------------------------------------------------------------------
start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --protected-mode yes \
  --dir "$RUN_DIR/redis" --save "" --appendonly no --daemonize no
redis_pid=${pids[-1]}
for i in $(seq 1 100); do
  alive redis "$redis_pid" || die "redis-server did not start (is port $REDIS_PORT taken? set REDIS_PORT)"
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
  [ "$i" = 100 ] && die "redis-server on 127.0.0.1:$REDIS_PORT did not answer"
  sleep 0.1
done
log "redis-server on 127.0.0.1:$REDIS_PORT"

# --- edge-admin ------------------------------------------------------------------------------
BOOTSTRAP_TOKEN=$(random_token)
# Data-source credentials are sealed with this key (AES-256-GCM); Redis starts
# empty on every run, so a fresh key per run loses nothing.
SECRET_KEY=${EDGE_ADMIN_SECRET_KEY:-$(head -c 32 /dev/urandom | base64)}
# Outbound-trunk passwords are sealed with this one, which the edge holds too.
CREDENTIALS_KEY=${EDGE_CREDENTIALS_KEY:-$(head -c 32 /dev/urandom | base64)}
EDGE_ADMIN_SECRET_KEY=$SECRET_KEY EDGE_CREDENTIALS_KEY=$CREDENTIALS_KEY \
EDGE_ADMIN_BOOTSTRAP_TOKEN=$BOOTSTRAP_TOKEN EDGE_ADMIN_ADDR=$ADMIN_ADDR EDGE_REDIS_ADDR=127.0.0.1:$REDIS_PORT \
  start edge-admin "$ADMIN" serve -config configs/edge-admin.yaml -redis "127.0.0.1:$REDIS_PORT" -addr "$ADMIN_ADDR"
admin_pid=${pids[-1]}
wait_http edge-admin "$admin_pid" "$ADMIN_URL/readyz" 15 || die "edge-admin did not become ready (is $ADMIN_ADDR taken? set EDGE_ADMIN_ADDR)"
log "edge-admin on $ADMIN_URL"

# --- workspaces ------------------------------------------------------------------------------
export EDGE_ADMIN_URL=$ADMIN_URL
unset EDGE_ADMIN_KEY EDGE_ADMIN_WORKSPACE EDGE_ADMIN_SOURCE_KEY
if [ -z "${NORTHSIDE_PROD_TRUNK_PASSWORD:-}" ]; then
  NORTHSIDE_PROD_TRUNK_PASSWORD=$(random_token)
  NORTHSIDE_PROD_TRUNK_PASSWORD=${NORTHSIDE_PROD_TRUNK_PASSWORD:0:24}
fi
export NORTHSIDE_PROD_TRUNK_PASSWORD

# create_workspace ENV NAME: prints "ws_id key".
create_workspace() {
  local out
  out=$(EDGE_ADMIN_BOOTSTRAP_TOKEN=$BOOTSTRAP_TOKEN "$ADMIN" workspace create -o env --env "$1" \
    --name "$2" --owner-name "Dana Whitfield" --owner-email "dana.whitfield@northside.example" \
    --timezone America/Chicago) || return 1
  local ws key
  ws=$(sed -n 's/^EDGE_ADMIN_WORKSPACE=//p' <<<"$out")
  key=$(sed -n 's/^EDGE_ADMIN_KEY=//p' <<<"$out")
  [ -n "$ws" ] && [ -n "$key" ] || { log "unexpected output of workspace create: $out"; return 1; }
  echo "$ws $key"
}

read -r DEV_WS DEV_KEY < <(create_workspace development "Northside Family Clinic (development)") || die "creating the development workspace failed"
read -r STAGING_WS STAGING_KEY < <(create_workspace staging "Northside Family Clinic (staging)") || die "creating the staging workspace failed"
read -r PROD_WS PROD_KEY < <(create_workspace production "Northside Family Clinic") || die "creating the production workspace failed"
[ -n "${DEV_WS:-}" ] && [ -n "${STAGING_WS:-}" ] && [ -n "${PROD_WS:-}" ] || die "creating the workspaces failed"

umask 077
cat >"$RUN_DIR/keys.env" <<EOF
# Written by scripts/run.sh: the local workspaces and their owner keys (shown once by the API).
# Use: set -a; . $RUN_DIR/keys.env; set +a
EDGE_ADMIN_URL=$ADMIN_URL
EDGE_ADMIN_BOOTSTRAP_TOKEN=$BOOTSTRAP_TOKEN
NORTHSIDE_DEV_WORKSPACE=$DEV_WS
NORTHSIDE_DEV_KEY=$DEV_KEY
NORTHSIDE_STAGING_WORKSPACE=$STAGING_WS
NORTHSIDE_STAGING_KEY=$STAGING_KEY
NORTHSIDE_PROD_WORKSPACE=$PROD_WS
NORTHSIDE_PROD_KEY=$PROD_KEY
NORTHSIDE_PROD_TRUNK_PASSWORD=$NORTHSIDE_PROD_TRUNK_PASSWORD
EOF
chmod 600 "$RUN_DIR/keys.env"
umask 022

log "applying configs/northside-development.yaml to $DEV_WS"
EDGE_ADMIN_KEY=$DEV_KEY "$ADMIN" apply -f configs/northside-development.yaml -w "$DEV_WS" || die "apply development failed"
log "applying configs/northside-staging.yaml to $STAGING_WS"
EDGE_ADMIN_KEY=$STAGING_KEY "$ADMIN" apply -f configs/northside-staging.yaml -w "$STAGING_WS" || die "apply staging failed"
log "promoting $STAGING_WS (staging) into $PROD_WS (production)"
EDGE_ADMIN_KEY=$PROD_KEY "$ADMIN" promote -w "$PROD_WS" --from "$STAGING_WS" --source-key "$STAGING_KEY" || die "promotion failed"
log "applying configs/northside-production.yaml to $PROD_WS"
EDGE_ADMIN_KEY=$PROD_KEY "$ADMIN" apply -f configs/northside-production.yaml -w "$PROD_WS" || die "apply production failed"

# --- data plane and reference agent ------------------------------------------------------------
running=("redis-server  127.0.0.1:$REDIS_PORT         logs: $RUN_DIR/logs/redis.log"
  "edge-admin    $ADMIN_URL   logs: $RUN_DIR/logs/edge-admin.log")
if [ -x "$BIN_DIR/edge-agent" ]; then
  EDGE_AGENT_SIP_ADDR=$AGENT_ADDR start edge-agent "$BIN_DIR/edge-agent"
  running+=("edge-agent    sip:$AGENT_ADDR       logs: $RUN_DIR/logs/edge-agent.log")
else
  log "$BIN_DIR/edge-agent not built: calls will find no agent on $AGENT_ADDR (503)"
fi
if [ -x "$BIN_DIR/edge" ]; then
  EDGE_REDIS_ADDR=127.0.0.1:$REDIS_PORT EDGE_SIP_ADDR=$SIP_ADDR EDGE_HTTP_ADDR=$HTTP_ADDR EDGE_METRICS_ADDR=$METRICS_ADDR \
    EDGE_RTP_PORTS=$RTP_PORTS EDGE_PUBLIC_IP=$PUBLIC_IP EDGE_NODE_ID=$NODE_ID EDGE_CREDENTIALS_KEY=$CREDENTIALS_KEY \
    start edge "$BIN_DIR/edge"
  edge_pid=${pids[-1]}
  if wait_http edge "$edge_pid" "http://$HTTP_ADDR/readyz" 15; then
    running+=("edge          sip:$SIP_ADDR, http://$HTTP_ADDR (console: /console/), metrics http://$METRICS_ADDR/metrics   logs: $RUN_DIR/logs/edge.log")
  else
    die "edge did not become ready"
  fi
else
  log "$BIN_DIR/edge not built: only the control plane runs"
fi

sip_host=${SIP_ADDR%:*}
sip_port=${SIP_ADDR##*:}
cat <<EOF

Running (Ctrl-C stops everything):
$(printf '  %s\n' "${running[@]}")

Workspaces (ids and owner keys in $RUN_DIR/keys.env, mode 600):
  development  $DEV_WS      numbers +1 312 555 0100, 0101   trunk 127.0.0.1
  staging      $STAGING_WS      numbers +1 312 555 0110, 0111   trunk 127.0.0.3
  production   $PROD_WS      numbers +1 312 555 0120-0122    trunks 127.0.0.4 (digest), 127.0.0.5

Look around:
  set -a; . $RUN_DIR/keys.env; set +a
  $ADMIN get services -w \$NORTHSIDE_DEV_WORKSPACE --key \$NORTHSIDE_DEV_KEY
  $ADMIN get calls --active -w \$NORTHSIDE_PROD_WORKSPACE --key \$NORTHSIDE_PROD_KEY

Place a test call (SIPp's built-in caller; -i picks the trunk's source address):
  sipp -sn uac -s +13125550100 -i 127.0.0.1 -p 15060 -m 1 $sip_host:$sip_port   # development, front desk
  sipp -sn uac -s +13125550111 -i 127.0.0.3 -p 15060 -m 1 $sip_host:$sip_port   # staging, after-hours triage
  sipp -sn uac -s +13125550121 -i 127.0.0.5 -p 15060 -m 1 $sip_host:$sip_port   # production, backup trunk
  sipp -sn uac -s +13125550110 -i 127.0.0.1 -p 15060 -m 1 $sip_host:$sip_port   # staging's number from dev's trunk: 404
EOF

# --- until Ctrl-C or a process exits ---------------------------------------------------------
while true; do
  wait -n "${pids[@]}" 2>/dev/null || true
  for i in "${!pids[@]}"; do
    alive "${names[$i]}" "${pids[$i]}" || die "stopping everything"
  done
done
