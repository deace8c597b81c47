"""The SQLite store: schema migrations, the road network and observations."""
