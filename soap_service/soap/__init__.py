"""The Spyne application: types, the service, and driving Spyne from our resource."""
