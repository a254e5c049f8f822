"""python -m ops.demo [--concurrency N]: build the demo history through the running services' RPC APIs."""

import sys

from ops.demo.run import main

sys.exit(main(sys.argv[1:]))
