"""Interoperability: the contract against WS-I rules, and other SOAP stacks against the server."""
