#!/usr/bin/env bash
# deploy.sh OVERLAY NAMESPACE IMAGE@sha256:DIGEST
#   1. renders the overlay with IMAGE (the pipeline's one build, by digest) for every pod;
#   2. leaves out objects whose CRD the cluster lacks (PodMonitor without the managed Prometheus add-on), saying so;
#   3. runs the migration Job and stops at its first failed pod, printing its log;
#   4. applies the rest, waits for the rollout and undoes it when it fails.
# The Secret kiroku-secrets must already exist in NAMESPACE (deploy/k8s/base/secret.template.yaml).
# Exit codes: 0 deployed, 1 a step failed (the previous version keeps serving), 2 wrong arguments.
# DEPLOY_TIMEOUT (seconds, default 600) bounds the migration and the rollout; DEPLOY_POLL (default 5) the Job polling.
set -euo pipefail

if [ "$#" -ne 3 ]; then
  echo "usage: deploy.sh OVERLAY NAMESPACE IMAGE@sha256:DIGEST" >&2
  exit 2
fi
overlay=$1 namespace=$2 image=$3
timeout=${DEPLOY_TIMEOUT:-600}
poll=${DEPLOY_POLL:-5}
# A tag can move between environments; a digest is the image the earlier environments ran.
if [[ $image != *@sha256:* ]]; then
  echo "deploy: IMAGE must be pinned by digest (registry/kiroku@sha256:…), not $image" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")/../k8s" && pwd)
if [ ! -f "$here/overlays/$overlay/kustomization.yaml" ]; then
  echo "deploy: no overlay $overlay in $here/overlays" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Every pod (the Job's and the web workload's) runs the same image: the overlays name it by tag, replaced here.
kubectl kustomize "$here/overlays/$overlay" | sed -E "s#^( *(- )?image: )kirokuacr\.azurecr\.io/kiroku[:@].*#\1$image#" >"$work/all.yaml"

# Objects of a custom resource (their API group is neither core nor *.k8s.io) are applied only where the
# cluster has their CRD: without it `kubectl apply` fails and would stop the deployment before the migration.
awk -v RS='\n---\n' '
  { kind = ""; group = "" }
  match($0, /(^|\n)kind: [A-Za-z]+/) { kind = substr($0, RSTART, RLENGTH); sub(/.*kind: /, "", kind) }
  match($0, /(^|\n)apiVersion: [^\n]+/) { group = substr($0, RSTART, RLENGTH); sub(/.*apiVersion: /, "", group) }
  { if (group ~ /\./ && group !~ /\.k8s\.io\//) { n = split(group, g, "/"); print kind, g[1] } }
' "$work/all.yaml" | sort -u >"$work/custom-kinds"
cp "$work/all.yaml" "$work/apply.yaml"
while read -r kind group; do
  # A CRD is named <plural>.<group>; the plural of the kinds used here (PodMonitor) is the lower-case kind + s.
  crd="$(echo "$kind" | tr '[:upper:]' '[:lower:]')s.$group"
  if kubectl get crd "$crd" >/dev/null 2>&1; then
    echo "deploy: $kind applied (the cluster has the CRD $crd)"
  else
    echo "deploy: $kind skipped: the cluster has no CRD $crd (install its add-on, then deploy again)"
    awk -v RS='\n---\n' -v ORS='\n---\n' -v kind="$kind" '$0 !~ ("(^|\n)kind: " kind "(\n|$)")' "$work/apply.yaml" >"$work/next.yaml"
    mv "$work/next.yaml" "$work/apply.yaml"
  fi
done <"$work/custom-kinds"

kubectl get secret kiroku-secrets -n "$namespace" >/dev/null

has_job=false
grep -q '^kind: Job$' "$work/apply.yaml" && has_job=true
workload=deployment/kiroku
grep -q '^kind: StatefulSet$' "$work/apply.yaml" && workload=statefulset/kiroku

if $has_job; then
  # A Job's pod template cannot change: replace last deploy's Job, then apply everything but the web pods.
  kubectl delete job kiroku-migrate -n "$namespace" --ignore-not-found --wait=true
  kubectl apply -f "$work/apply.yaml" -l 'app.kubernetes.io/component!=web'
  # `kubectl wait --for=condition=complete` never returns for a failed Job: poll for success and failure both.
  deadline=$((SECONDS + timeout))
  while :; do
    state=$(kubectl get job kiroku-migrate -n "$namespace" -o 'jsonpath={.status.succeeded}/{.status.failed}/{.status.conditions[?(@.status=="True")].type}')
    IFS=/ read -r succeeded failed conditions <<<"$state"
    if [ "${succeeded:-0}" -ge 1 ] || [[ $conditions == *Complete* ]]; then
      echo "deploy: migration Job complete"
      break
    fi
    if [ "${failed:-0}" -ge 1 ] || [[ $conditions == *Failed* ]]; then
      echo "deploy: the migration Job failed; its log:" >&2
      kubectl logs job/kiroku-migrate -n "$namespace" --tail=200 >&2 || true
      echo "deploy: stopped before the rollout; the running version keeps serving" >&2
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "deploy: the migration Job did not finish within ${timeout}s; its log:" >&2
      kubectl logs job/kiroku-migrate -n "$namespace" --tail=200 >&2 || true
      exit 1
    fi
    sleep "$poll"
  done
fi

kubectl apply -f "$work/apply.yaml"
if ! kubectl rollout status "$workload" -n "$namespace" --timeout="${timeout}s"; then
  echo "deploy: the rollout of $workload did not finish; undoing it" >&2
  kubectl get pods -n "$namespace" -l app.kubernetes.io/component=web -o wide >&2 || true
  # Migrations are additive, so the previous version runs on the new schema.
  kubectl rollout undo "$workload" -n "$namespace"
  kubectl rollout status "$workload" -n "$namespace" --timeout="${timeout}s" || true
  echo "deploy: rolled back to the previous revision of $workload" >&2
  exit 1
fi
echo "deploy: $workload runs $image"
kubectl get pods -n "$namespace" -l app.kubernetes.io/component=web -o wide
