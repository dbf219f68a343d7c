#!/usr/bin/env bash
# Builds and tags the three images docker-compose.yml runs:
#   metrics-server-cassandra:$TAG  Apache Cassandra 5.0.8 from Maven Central on Debian's OpenJDK 17
#   metrics-server-backend:$TAG    the API (waitress), also the schema job
#   metrics-server-nginx:$TAG      nginx with the built frontend and nginx/nginx.conf.template rendered for backend1..4
# Every image starts FROM debian:bookworm-slim (where no registry is reachable, docker/base.sh makes it).
# Reads TAG, METRICS_SERVER_MAX_BODY_BYTES and METRICS_SERVER_RATE_LIMIT as docker-compose does (the environment,
# then .env, or ENV_FILE=path), so nginx's body limit and rate limit are the same as the instances'.
#   ./build_images.sh [TAG]        DOCKER=/path/to/docker picks the client
set -euo pipefail
cd "$(dirname "$0")"
env_file=${ENV_FILE:-.env}
docker=${DOCKER:-docker}

setting() {  # NAME DEFAULT: the environment's value, else the env file's (NAME=value lines, taken literally)
  local value=${!1:-}
  if [ -z "$value" ] && [ -f "$env_file" ]; then
    value=$(sed -n "s/^$1=//p" "$env_file" | tail -n 1)
  fi
  echo "${value:-$2}"
}
tag=${1:-$(setting TAG latest)}

build() {  # image, Dockerfile, build options...
  local started=$SECONDS
  "$docker" build -q -f "$2" -t "$1:$tag" "${@:3}" . >/dev/null
  echo "built $1:$tag in $((SECONDS - started))s: $("$docker" image inspect -f '{{.Size}}' "$1:$tag") bytes"
}
build metrics-server-cassandra docker/cassandra/Dockerfile
build metrics-server-backend docker/backend/Dockerfile
build metrics-server-nginx docker/nginx/Dockerfile \
  --build-arg "MAX_BODY_BYTES=$(setting METRICS_SERVER_MAX_BODY_BYTES 33554432)" \
  --build-arg "RATE_LIMIT=$(setting METRICS_SERVER_RATE_LIMIT 0)"
echo "start with: docker-compose up -d"
