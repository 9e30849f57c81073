#!/usr/bin/env bash
# promote.sh REGISTRY DIGEST ENVIRONMENT: the environment's tag (kiroku:dev, :test, :staging, :production) now names
# the image DIGEST, the one the pipeline's build job made: `az acr import` within the registry is a retag, the
# layers and the digest stay the same. The tag records what each environment runs; deploy.sh deploys by digest.
set -euo pipefail
registry=$1 digest=$2 environment=$3
[[ $digest == sha256:* ]] || { echo "promote: DIGEST must be sha256:…, not '$digest'" >&2; exit 2; }
az acr import --name "$registry" --source "$registry.azurecr.io/kiroku@$digest" --image "kiroku:$environment" --force
now=$(az acr repository show --name "$registry" --image "kiroku:$environment" --query digest --output tsv)
if [ "$now" != "$digest" ]; then
  echo "promote: kiroku:$environment names $now after the import, not $digest" >&2
  exit 1
fi
echo "promote: kiroku:$environment = $digest"
