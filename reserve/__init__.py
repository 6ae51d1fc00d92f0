"""Reserve mode, runbook checklists, manual capture and the printable kit (issue: reserve routine)."""
