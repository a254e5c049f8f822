"""marshmallow schemas of insurance's RPC input and output."""
