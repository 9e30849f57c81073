#!/usr/bin/env bash
# deploy.sh OVERLAY NAMESPACE IMAGE: migration Job first, then the rollout, each waited for.
# The Secret kiroku-secrets must already exist in NAMESPACE (deploy/k8s/base/secret.template.yaml).
set -euo pipefail
overlay=$1 namespace=$2 image=$3
here=$(cd "$(dirname "$0")/../k8s" && pwd)

rendered=$(mktemp)
trap 'rm -f "$rendered"' EXIT
kubectl kustomize "$here/overlays/$overlay" | sed "s#image: kirokuacr.azurecr.io/kiroku:.*#image: $image#" >"$rendered"

kubectl get secret kiroku-secrets -n "$namespace" >/dev/null

# A Job's pod template cannot change: replace last deploy's Job, run it, wait for it.
kubectl delete job kiroku-migrate -n "$namespace" --ignore-not-found --wait=true
# Everything but the Deployment (config, services, policies, the Job), then the Deployment.
kubectl apply -f "$rendered" -l "app.kubernetes.io/component!=web"
if ! kubectl wait --for=condition=complete job/kiroku-migrate -n "$namespace" --timeout=10m; then
  kubectl logs job/kiroku-migrate -n "$namespace" --tail=100 || true
  echo "deploy: the migration Job did not complete; the running version keeps serving" >&2
  exit 1
fi

kubectl apply -f "$rendered"
if ! kubectl rollout status deployment/kiroku -n "$namespace" --timeout=10m; then
  echo "deploy: the rollout did not finish; roll back with: kubectl rollout undo deployment/kiroku -n $namespace" >&2
  exit 1
fi
kubectl get pods -n "$namespace" -l app.kubernetes.io/component=web -o wide
