"""Operator tooling: the launcher behind `make run/start/stop` and the `newcitizen` console script."""
