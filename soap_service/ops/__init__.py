"""Operations: metrics, structured logs, readiness, the service page."""
