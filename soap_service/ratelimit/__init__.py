"""Per-IP and per-principal rate limits and load shedding."""
