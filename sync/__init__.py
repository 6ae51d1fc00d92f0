"""Outbox, back-registration and the reference main server (issue: sync engine)."""
