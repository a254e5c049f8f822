#!/usr/bin/env bash
# Make sure RabbitMQ answers on 127.0.0.1:5672. Starts a stopped local broker; fails clearly if none is
# installed. With --management (the test and bench targets) also its management API, which nameko's test
# fixtures use to give each test its own vhost, and its Prometheus plugin; `make run` needs neither.
set -euo pipefail
# Debian's rabbitmq-server package puts rabbitmq-server, rabbitmqctl and rabbitmq-plugins in /usr/sbin,
# which is not on an ordinary user's PATH
export PATH="$PATH:/usr/sbin:/usr/lib/rabbitmq/bin"
management=false
[ "${1:-}" = "--management" ] && management=true

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

# the broker may accept TCP before it serves AMQP; wait until the node reports it is running
if command -v rabbitmqctl >/dev/null 2>&1; then
  rabbitmqctl await_startup >/dev/null 2>&1 || true
fi
if ! $management; then
  echo "RabbitMQ is up (amqp 5672)"
  exit 0
fi

if command -v rabbitmq-plugins >/dev/null 2>&1 && ! port_open 15672; then
  rabbitmq-plugins enable --quiet rabbitmq_management >/dev/null || true
  for _ in $(seq 1 60); do port_open 15672 && break; sleep 1; done
fi
port_open 15672 || {
  echo "RabbitMQ management API (15672) is not up; the tests need it: rabbitmq-plugins enable rabbitmq_management" >&2
  exit 1
}
# the broker metrics the dashboards and alerts read (deploy/prometheus); a test checks their names live
if command -v rabbitmq-plugins >/dev/null 2>&1 && ! port_open 15692; then
  rabbitmq-plugins enable --quiet rabbitmq_prometheus >/dev/null || true
fi
echo "RabbitMQ is up (amqp 5672, management 15672)"
