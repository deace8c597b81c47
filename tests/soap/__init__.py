"""Tests of the SOAP layer (soap_service/soap)."""
