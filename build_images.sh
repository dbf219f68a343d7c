#!/usr/bin/env bash
# Builds and tags the two images docker-compose.yml runs:
#   metrics-server-backend:$TAG   the API (waitress), also the schema job
#   metrics-server-nginx:$TAG     nginx with the built frontend and nginx/nginx.conf.template rendered for backend1..4
# Reads TAG, METRICS_SERVER_MAX_BODY_BYTES and METRICS_SERVER_RATE_LIMIT from .env when it exists, so nginx's
# body limit and rate limit are the same as the instances'.
#   ./build_images.sh [TAG]
set -euo pipefail
cd "$(dirname "$0")"
if [ -f .env ]; then
  set -a; . ./.env; set +a
fi
tag=${1:-${TAG:-latest}}
docker=${DOCKER:-docker}

"$docker" build -f docker/backend/Dockerfile -t "metrics-server-backend:$tag" .
"$docker" build -f docker/nginx/Dockerfile -t "metrics-server-nginx:$tag" \
  --build-arg "MAX_BODY_BYTES=${METRICS_SERVER_MAX_BODY_BYTES:-33554432}" \
  --build-arg "RATE_LIMIT=${METRICS_SERVER_RATE_LIMIT:-0}" .
echo "built metrics-server-backend:$tag and metrics-server-nginx:$tag; start with: docker-compose up -d"
