#!/bin/sh
# docker-entrypoint.sh SERVICE | migrate | newcitizen ... | any command
set -eu
case "${1:-help}" in
  housing|insurance|events|notify|stats)
    exec nameko run --config "services/$1/config.yaml" "services.$1.service" ;;
  migrate)
    # every service's Alembic history to head, then the broker topology (queue type from EVENT_QUEUE_TYPE)
    python -m shared.platform.migrations
    exec python -m shared.platform.topology ;;
  help)
    echo "usage: housing|insurance|events|notify|stats|migrate|newcitizen ARGS|COMMAND" ;;
  *)
    exec "$@" ;;
esac
