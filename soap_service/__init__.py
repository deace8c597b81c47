"""highway-traffic: a secure SOAP 1.1 service for highway travel times (Spyne on Twisted)."""

__version__ = "1.0.0"
from soap_service.contract.names import CONTRACT_NAMESPACE  # noqa: F401 - re-exported
