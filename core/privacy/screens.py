"""Swedish names of the screens an access-log row names, for the log's readers (admin, the patient)."""
from __future__ import annotations

# Endpoint names (what the chokepoint records) and the context strings services pass by hand.
SCREENS: dict[str, str] = {
    # Patients
    "patients.search": "Patientsökning",
    "patients.overview": "Patientöversikt",
    "patients.edit": "Ändra patientuppgifter",
    "patients_api.search": "Patientsökning (API)",
    "api.patients.search": "Patientsökning (API)",
    "patients_api.overview": "Patientöversikt (API)",
    "api.patients.update": "Ändra patientuppgifter (API)",
    # Prescribing
    "prescribing.show": "Förskrivning",
    "prescribing.new": "Ny förskrivning",
    "prescribing.receipt": "Kvitto (PDF)",
    "prescribing.receipt_active": "Aktiva rader (PDF)",
    "prescribing_api.show": "Förskrivning (API)",
    "prescribing_api.receipt": "Kvitto (PDF, API)",
    "api.prescribing.receipt": "Kvitto (PDF, API)",
    "prescribing_api.active_rows_receipt": "Aktiva rader (PDF, API)",
    "api.prescribing.active_rows": "Aktiva rader (PDF, API)",
    # Withdrawals and orders
    "withdrawals.overview": "Uttagsöversikt",
    "withdrawals.show": "Uttag",
    "withdrawals.new": "Nytt uttag",
    "withdrawals.per_article": "Uttag per artikel",
    "withdrawals_api.search": "Uttagssökning (API)",
    "api.withdrawals.search": "Uttagssökning (API)",
    "withdrawals_api.show": "Uttag (API)",
    "api.withdrawals.show": "Uttag (API)",
    "mypage.index": "Min sida",
    "mypage.withdrawals": "Min sida: uttag att åtgärda",
    "orders.index": "Beställningar",
    "orders.show": "Beställning",
    "orders.new": "Ny beställning",
    "withdrawals_api.orders": "Beställningar (API)",
    "api.orders": "Beställningar (API)",
    "withdrawals_api.order": "Beställning (API)",
    "api.orders.show": "Beställning (API)",
    # Reserve routine and back-registration
    "reserve.queue": "Reservärenden",
    "reserve.item": "Reservärende",
    "reserve.capture": "Registrering i reservrutin",
    "reserve.capture_form": "Registrering i reservrutin",
    "reserve.kit": "Reservlåda: enhetslista (PDF)",
    "reserve.kit_document": "Reservlåda: enhetslista (PDF)",
    "reserve_api.list_items": "Reservärenden (API)",
    "reserve_api.show_item": "Reservärende (API)",
    "sync.item": "Efterregistrering: post",
    "sync.review_queue": "Efterregistrering: granskning",
    "sync.conflict_queue": "Efterregistrering: konflikter",
    "sync.error_queue": "Efterregistrering: fel",
    "sync.reconciliation_report": "Avstämning",
    "sync.reconciliation_csv": "Avstämning (CSV)",
    "sync.reconciliation_pdf": "Avstämning (PDF)",
    "sync_api.show_item": "Efterregistrering: post (API)",
    "sync_api.list_items": "Efterregistrering (API)",
    # The log itself
    "admin.access_log": "Åtkomstlogg",
    "admin.access_log_csv": "Åtkomstlogg: export (CSV)",
    "admin.access_log_extract": "Logutdrag (PDF)",
    "accesslog_api.list_entries": "Åtkomstlogg (API)",
    "api.access_log": "Åtkomstlogg (API)",
}

# Contexts that carry a variable tail (an order type, an outbox key): the prefix names the screen.
SCREEN_PREFIXES: tuple[tuple[str, str], ...] = (
    ("orders.create.", "Ny beställning"),
    ("Efterregistrering ", "Efterregistrering: post"),
)


def screen_name(context: str) -> str:
    """Return the Swedish screen name of a log row's context, or the context itself when unknown."""
    if context in SCREENS:
        return SCREENS[context]
    for prefix, name in SCREEN_PREFIXES:
        if context.startswith(prefix):
            return name
    return context
