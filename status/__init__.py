"""Status monitor, incidents, escalation and the public status page (issue: status monitor)."""
