"""What the five services share, in two packages that say what they hold.

* `shared.platform`: mechanisms, with no knowledge of Cixi's cases (outbox, event consumers, RPC, auth,
  database, clock, personal-data handling, metrics, migrations, …). It never imports `shared.cixi` nor
  `services` (tests/shared/test_service_shape.py walks the imports).
* `shared.cixi`: Cixi's domain that more than one service needs: the towns, the appeal process and the
  published event contracts. It builds on `shared.platform`.
"""

__version__ = "0.1.0"
