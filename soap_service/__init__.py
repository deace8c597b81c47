"""highway-traffic: a secure SOAP 1.1 service for highway travel times (Spyne on Twisted)."""

__version__ = "1.0.0"
CONTRACT_NAMESPACE = "urn:highway-traffic:v1"
