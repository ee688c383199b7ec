#!/bin/bash
# announce-by-health.sh HEALTH_FILE BIRD_SOCKET [PROTOCOL]
# announce-by-health.sh HEALTH_FILE --frr VTYSH_DIR [PEER_GROUP]
#
# Keeps the routing daemon's announcement of this gateway in step with
# egressd's health: every 0.1 s it reads the first line of egressd's [health]
# file (`ready`, `draining` or `failed`; absent while egressd is not running)
# and, when that changes, opens the gate for `ready` and closes it for
# anything else:
# - BIRD (bird-gateway.conf): `birdc enable PROTOCOL` / `birdc disable
#   PROTOCOL`, PROTOCOL (default: health_gate) the pipe that passes the
#   default route to the table the inside session exports.
# - FRR (frr-gateway.conf, `--frr` and vtysh's socket directory, `vtysh
#   --vty_socket`; the default one when empty): the outbound route-map of the
#   inside peer-group PEER_GROUP (default: INSIDE) becomes HEALTH_GATE (the
#   default route) or NOTHING; bgpd sends the update (or the withdrawal) at
#   once.
#
# Why a watcher: neither BIRD 2 nor FRR has a health-check hook for a route,
# and egressd writes its state to a file (atomically, on each change) rather
# than running commands. Why the file and not `egressctl health`: reading it
# is a shell builtin, no process per look; and the one case where the file
# lies (a killed egressd leaves `ready` behind) needs no watcher, since every
# BGP and BFD packet of this host goes through egressd: when it dies, the
# routers' BFD withdraws it within the detection time.
set -u
health=$1
if [ "${2:-}" = --frr ]; then
  vty=${3:-} group=${4:-INSIDE}
  gate() {
    local map=NOTHING
    [ "$1" = ready ] && map=HEALTH_GATE
    vtysh ${vty:+--vty_socket "$vty"} -c "configure terminal" -c "router bgp" -c "address-family ipv4 unicast" \
      -c "neighbor $group route-map $map out" > /dev/null && echo "route-map $map out"
  }
else
  sock=$2 proto=${3:-health_gate}
  gate() {
    local verb=disable
    [ "$1" = ready ] && verb=enable
    birdc -s "$sock" "$verb" "$proto" > /dev/null && echo "$verb $proto"
  }
fi
last=""
while :; do
  state=absent
  [ -r "$health" ] && read -r state < "$health"
  if [ "$state" != "$last" ]; then
    if did=$(gate "$state"); then
      echo "$(date +%s.%N) $state: $did"
      last=$state
    fi
  fi
  sleep 0.1
done
