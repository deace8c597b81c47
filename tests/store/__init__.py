"""Tests of the store on both engines (SQLite and a real PostgreSQL)."""
