#!/usr/bin/env bash
# The Redis-tier tests run against a real Debian redis-server. On a machine
# without one, install it where we can (root + apt-get); under CI a missing
# redis-server is an error, never a silent skip.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing redis-server (apt-get) for the Redis tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
  exit 0
fi
if [ -n "${CI:-}" ]; then
  echo "redis-server is required in CI (apt-get install -y redis-server)" >&2
  exit 1
fi
echo "== redis-server not found: the Redis tests will be skipped (apt-get install -y redis-server)" >&2
