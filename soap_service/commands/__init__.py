"""The `highway-server` subcommands other than `serve` (users, db, config): wiring-level, so
they may import any package below."""
