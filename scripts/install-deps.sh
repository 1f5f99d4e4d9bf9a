#!/usr/bin/env bash
# Installs what `make run` and `make test` need on a fresh Debian machine,
# with apt-get, only when missing: redis-server, sipp (package sip-tester).
# Extra words name test-only tools: chromium (the console's browser test), baresip (a real
# carrier/service UA with SRTP), kamailio (a real carrier SBC in front of the edge), sox.
# The load test's references (`make loadtest`, go test ./loadtest/...): kamailio-redis (Kamailio's
# ndb_redis module, for the reference proxy), rtpengine (the userspace reference relay).
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
command -v curl >/dev/null 2>&1 || need+=(curl) # scripts/run.sh waits for readiness with it
for extra in "$@"; do
  case "$extra" in
    chromium) command -v chromium >/dev/null 2>&1 || need+=(chromium) ;;
    baresip) command -v baresip >/dev/null 2>&1 || need+=(baresip-core) ;;
    kamailio) command -v kamailio >/dev/null 2>&1 || need+=(kamailio) ;;
    sox) command -v sox >/dev/null 2>&1 || need+=(sox) ;;
    kamailio-redis)
      command -v kamailio >/dev/null 2>&1 || need+=(kamailio)
      ls /usr/lib/*/kamailio/modules/ndb_redis.so >/dev/null 2>&1 || need+=(kamailio-redis-modules) ;;
    rtpengine) command -v rtpengine >/dev/null 2>&1 || need+=(rtpengine-daemon) ;;
    *) need+=("$extra") ;;
  esac
done
[ ${#need[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to install: ${need[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The Debian package starts a system redis on 6379; the project runs its own.
if [[ " ${need[*]} " == *" redis-server "* ]] && command -v systemctl >/dev/null 2>&1; then
  $sudo systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
# Likewise the system Kamailio and rtpengine: the load test runs its own, on loopback.
for unit in kamailio rtpengine-daemon; do
  if [[ " ${need[*]} " == *" ${unit} "* ]] && command -v systemctl >/dev/null 2>&1; then
    $sudo systemctl disable --now "$unit" >/dev/null 2>&1 || true
  fi
done
