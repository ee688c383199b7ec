#!/bin/bash
# announce-by-health.sh HEALTH_FILE BIRD_SOCKET [PROTOCOL]
#
# Keeps BIRD's announcement of this gateway in step with egressd's health:
# every 0.1 s it reads the first line of egressd's [health] file (`ready`,
# `draining` or `failed`; absent while egressd is not running) and, when that
# changes, runs `birdc enable PROTOCOL` for `ready` and `birdc disable
# PROTOCOL` for anything else. PROTOCOL (default: default_route) is the static
# protocol holding the route that brings new flows (bird-gateway.conf).
#
# Why a watcher: BIRD 2 has no health-check hook for a route, and egressd
# writes its state to a file (atomically, on each change) rather than running
# commands. Why the file and not `egressctl health`: reading it is a shell
# builtin, no process per look; and the one case where the file lies (a
# killed egressd leaves `ready` behind) needs no watcher, since every BGP and
# BFD packet of this host goes through egressd: when it dies, the routers'
# BFD withdraws it within the detection time.
set -u
health=$1 sock=$2 proto=${3:-health_gate}
last=""
while :; do
  state=absent
  [ -r "$health" ] && read -r state < "$health"
  if [ "$state" != "$last" ]; then
    if [ "$state" = ready ]; then verb=enable; else verb=disable; fi
    if birdc -s "$sock" "$verb" "$proto" > /dev/null; then
      echo "$(date +%s.%N) $state: $verb $proto"
      last=$state
    fi
  fi
  sleep 0.1
done
