"""marshmallow schemas of housing's RPC input and output."""
