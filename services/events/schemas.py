"""marshmallow schemas of events's RPC input and output."""
