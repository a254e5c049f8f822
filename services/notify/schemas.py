"""marshmallow schemas of notify's RPC input and output."""
