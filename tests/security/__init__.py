"""Tests of WS-Security, mutual TLS, accounts and authorization."""
