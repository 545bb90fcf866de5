"""Shared helpers for Swiftlet's Python test suites (servers, RESP client, scripts)."""
