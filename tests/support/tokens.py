"""The suite's token issuer: a key pair made for this run (kid `dev-only-suite`, refused in production), the
private half held here only, as the issuer holds it; services get `PUBLIC_KEYS` (tests/conftest.py)."""

from shared.platform.token_issuer import Issuer
from shared.platform.token_keys import SigningKey

SUITE_KEY = SigningKey.generate("dev-only-suite")
PUBLIC_KEYS = SUITE_KEY.public_setting()
ISSUER = Issuer(SUITE_KEY)
