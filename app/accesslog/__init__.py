"""The access log of personal-data reads; admins read it under Administration."""
