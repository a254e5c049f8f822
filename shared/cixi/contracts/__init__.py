"""The published event contracts, one module per publishing service (`appeals` is the events every service
with appealable cases publishes). The envelope, the registry and `load_all` are the mechanism:
`shared/platform/contracts.py`."""
