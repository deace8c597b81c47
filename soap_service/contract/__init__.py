"""The checked-in WSDL contract, bundled as package data."""
