"""`make demo`: a synthetic but realistic history, driven through the services' RPC APIs, that the stats
report afterwards turns into the seed's own figures."""
