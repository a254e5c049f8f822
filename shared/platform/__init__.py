"""Mechanisms every New Citizen service uses, with no domain in them: the outbox and the event consumers,
the RPC edge and entrypoint, caller auth and tokens, the database session and unit of work, the clock,
personal-data validation and encryption, retention, audit, metrics, logs, probes, HTTP, configuration,
broker topology and access, and migrations.

Nothing here imports `shared.cixi` or `services`: a mechanism learns a service's domain only through what
the service hands it (its desk, its retention rules, its contracts, named in `contracts.CONTRACT_PACKAGE`).
"""
