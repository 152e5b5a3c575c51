#!/bin/sh
# Sourced by the Temporal set-up scripts: `retry_until TRIES PAUSE WHAT command…` runs the command until
# it succeeds, pausing PAUSE seconds between tries, and exits with "WHAT is not ready after TRIES tries"
# once the tries are spent.
retry_until() {
  limit=$1
  pause=$2
  what=$3
  shift 3
  tries=0
  until "$@" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge "$limit" ]; then
      echo "$what is not ready after $limit tries" >&2
      exit 1
    fi
    sleep "$pause"
  done
}
