"""Patients: personnummer rules, search, overview and patient data."""
