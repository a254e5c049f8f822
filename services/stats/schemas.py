"""marshmallow schemas of stats's RPC input and output."""
