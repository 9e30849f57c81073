#!/usr/bin/env bash
# image.sh REGISTRY BRANCH: the one image of this commit's tree, by digest, for every environment to come.
# Run by the pipeline's only build job (azure-pipelines.yml, stage image), logged in to Azure (AzureCLI@2).
#   - An image of this tree already in REGISTRY/kiroku (tag tree-<git tree hash>): its digest, not rebuilt.
#     A merge commit dev → stg → main carries the tree dev built, so stg and main find dev's image.
#   - Else, on dev or hotfix/*: build deploy/docker/Dockerfile once, push it, and take the digest the push returned.
#   - Else (stg, main): fail; their trees must be ones dev or a hotfix built (merge commits, never a change in the merge).
# Prints the pipeline's output variable `digest` (sha256:…) for the deploy stages.
set -euo pipefail
registry=$1 branch=$2
repo="$registry.azurecr.io/kiroku"
tree=$(git rev-parse 'HEAD^{tree}')
tag="tree-$tree"

digest=$(az acr repository show --name "$registry" --image "kiroku:$tag" --query digest --output tsv 2>/dev/null || true)
if [ -n "$digest" ]; then
  echo "image: $repo:$tag is already built ($digest): promoting it, not rebuilding"
elif [[ $branch == refs/heads/dev || $branch == refs/heads/hotfix/* ]]; then
  az acr login --name "$registry"
  docker build -f deploy/docker/Dockerfile -t "$repo:$tag" --label "org.opencontainers.image.revision=$(git rev-parse HEAD)" .
  docker push "$repo:$tag"
  digest=$(docker inspect --format '{{index .RepoDigests 0}}' "$repo:$tag")
  digest=${digest#*@}
  echo "image: built and pushed $repo@$digest ($tag)"
else
  echo "image: no image of tree $tree in $repo: $branch deploys only what dev (or a hotfix) built." >&2
  echo "image: merge with a merge commit and no change of its own (CONTRIBUTING.md), or merge main back into dev first." >&2
  exit 1
fi
[[ $digest == sha256:* ]] || { echo "image: unexpected digest '$digest'" >&2; exit 1; }
echo "##vso[task.setvariable variable=digest;isOutput=true]$digest"
