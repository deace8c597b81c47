"""Checks in front of Spyne: HTTP limits, XML pre-checks and SOAP envelope rules."""
