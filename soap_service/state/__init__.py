"""Shared state (memory or Redis): replay cache and rate-limit counters."""
