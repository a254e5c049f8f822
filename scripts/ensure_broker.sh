#!/usr/bin/env bash
# Make sure RabbitMQ answers on 127.0.0.1:5672 with its management API enabled (nameko's test fixtures
# use it to give each test its own vhost). Starts a stopped local broker; fails clearly if none is installed.
set -euo pipefail

port_open() { (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

if ! port_open 5672; then
  if command -v rabbitmq-server >/dev/null 2>&1; then
    echo "RabbitMQ is not answering on 5672: starting it (rabbitmq-server -detached)"
    rabbitmq-server -detached || true
  else
    echo "RabbitMQ is not running on 127.0.0.1:5672 and rabbitmq-server is not installed." >&2
    echo "Install it (apt-get install rabbitmq-server) or point AMQP_URI at a broker." >&2
    exit 1
  fi
fi
for _ in $(seq 1 60); do port_open 5672 && break; sleep 1; done
port_open 5672 || { echo "RabbitMQ did not come up on 5672" >&2; exit 1; }

if command -v rabbitmq-plugins >/dev/null 2>&1 && ! port_open 15672; then
  rabbitmq-plugins enable --quiet rabbitmq_management >/dev/null || true
  for _ in $(seq 1 60); do port_open 15672 && break; sleep 1; done
fi
port_open 15672 || { echo "RabbitMQ management API (15672) is not up; tests need it" >&2; exit 1; }
# the broker metrics the dashboards and alerts read (deploy/prometheus); a test checks their names live
if command -v rabbitmq-plugins >/dev/null 2>&1 && ! port_open 15692; then
  rabbitmq-plugins enable --quiet rabbitmq_prometheus >/dev/null || true
fi
# the broker may accept TCP before it serves AMQP; wait until the node reports it is running
if command -v rabbitmqctl >/dev/null 2>&1; then
  rabbitmqctl await_startup >/dev/null 2>&1 || true
fi
echo "RabbitMQ is up (amqp 5672, management 15672)"
