#!/bin/sh
# Registers the namespace Gatehouse runs in, once the frontend answers. The workers register their
# search attributes themselves (through the operator service) when they start.
set -eu
. "$(dirname "$0")/retry-until.sh"

: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS must name the Temporal frontend}"
namespace="${NAMESPACE:-default}"
retention="${RETENTION:-72h}"

retry_until 60 2 "Temporal at $TEMPORAL_ADDRESS" temporal operator cluster health --address "$TEMPORAL_ADDRESS"

if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$namespace" >/dev/null 2>&1; then
  echo "namespace $namespace exists"
else
  temporal operator namespace create --address "$TEMPORAL_ADDRESS" --namespace "$namespace" --retention "$retention"
  echo "namespace $namespace created (retention $retention)"
fi
