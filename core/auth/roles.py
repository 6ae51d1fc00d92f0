"""The six roles of SPEC section 1 and what each may do; plain values, no Flask."""
from __future__ import annotations

from enum import Enum


class Role(str, Enum):
    PRESCRIBER = "prescriber"
    CUSTOMER_SERVICE = "customer_service"
    HMS_STAFF = "hms_staff"
    TECHNICIAN = "technician"
    IT_STAFF = "it_staff"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.PRESCRIBER: "Förskrivare",
    Role.CUSTOMER_SERVICE: "Kundservice",
    Role.HMS_STAFF: "Hjälpmedelsservice",
    Role.TECHNICIAN: "Servicetekniker",
    Role.IT_STAFF: "IT / systemansvarig",
    Role.ADMIN: "Verksamhetsansvarig",
}


class Permission(str, Enum):
    READ_PATIENTS = "read_patients"
    PRESCRIBE = "prescribe"
    CREATE_WITHDRAWALS = "create_withdrawals"
    CAPTURE_RESERVE_ITEMS = "capture_reserve_items"
    VIEW_RESERVE_ROUTINE = "view_reserve_routine"  # checklists, work queue, the kit's blank forms
    LOG_CALLS = "log_calls"
    RUN_DRILLS = "run_drills"
    MANAGE_WORK_ORDERS = "manage_work_orders"
    PUBLISH_STATUS = "publish_status"
    READ_ACCESS_LOG = "read_access_log"
    MANAGE_USERS = "manage_users"
    READ_PRODUCTS = "read_products"
    USE_MY_PAGE = "use_my_page"
    READ_WITHDRAWALS = "read_withdrawals"
    DELIVER_WITHDRAWALS = "deliver_withdrawals"
    CREATE_ORDERS = "create_orders"
    MOVE_STOCK = "move_stock"
    READ_ORDERS = "read_orders"
    SEND_MESSAGES = "send_messages"
    REVIEW_SYNC = "review_sync"  # back-registration: the item lists, conflicts and refused items
    APPROVE_SYNC_ITEMS = "approve_sync_items"  # approve or cancel items waiting for review
    READ_SYNC_REPORTS = "read_sync_reports"  # back-registration progress and reconciliation (no personal data)


_PATIENT_WORKERS = {Role.PRESCRIBER, Role.CUSTOMER_SERVICE, Role.HMS_STAFF, Role.TECHNICIAN}

# IT staff run the status page and never see patient data (SPEC section 1).
PERMISSIONS: dict[Permission, frozenset[Role]] = {
    Permission.READ_PATIENTS: frozenset(_PATIENT_WORKERS),
    Permission.PRESCRIBE: frozenset({Role.PRESCRIBER}),
    Permission.CREATE_WITHDRAWALS: frozenset({Role.PRESCRIBER, Role.CUSTOMER_SERVICE}),
    Permission.CAPTURE_RESERVE_ITEMS: frozenset({Role.CUSTOMER_SERVICE, Role.HMS_STAFF}),
    Permission.VIEW_RESERVE_ROUTINE: frozenset(
        {Role.CUSTOMER_SERVICE, Role.HMS_STAFF, Role.TECHNICIAN, Role.IT_STAFF, Role.ADMIN}),
    Permission.LOG_CALLS: frozenset({Role.CUSTOMER_SERVICE, Role.HMS_STAFF}),
    Permission.RUN_DRILLS: frozenset({Role.ADMIN}),
    Permission.MANAGE_WORK_ORDERS: frozenset({Role.TECHNICIAN, Role.HMS_STAFF}),
    Permission.PUBLISH_STATUS: frozenset({Role.IT_STAFF}),
    Permission.READ_ACCESS_LOG: frozenset({Role.ADMIN}),
    Permission.MANAGE_USERS: frozenset({Role.ADMIN}),
    Permission.READ_PRODUCTS: frozenset(_PATIENT_WORKERS | {Role.ADMIN}),
    Permission.USE_MY_PAGE: frozenset(Role),
    # The withdrawal overview: prescribers see their units, customer service and HMS every unit.
    Permission.READ_WITHDRAWALS: frozenset({Role.PRESCRIBER, Role.CUSTOMER_SERVICE, Role.HMS_STAFF}),
    # Delivery is confirmed by the depot side, never by the prescriber or the patient's e-service.
    Permission.DELIVER_WITHDRAWALS: frozenset({Role.CUSTOMER_SERVICE, Role.HMS_STAFF}),
    # Beställning to a care unit, and outbound deliveries for orders from own stock (seed 002).
    Permission.CREATE_ORDERS: frozenset({Role.CUSTOMER_SERVICE, Role.HMS_STAFF}),
    # Lagerflytt: "lagerpersonal eller tekniker" fill the municipal stocks (seed 002).
    Permission.MOVE_STOCK: frozenset({Role.HMS_STAFF, Role.TECHNICIAN}),
    Permission.READ_ORDERS: frozenset({Role.PRESCRIBER, Role.CUSTOMER_SERVICE, Role.HMS_STAFF, Role.TECHNICIAN}),
    # Messages to My page come from the business owner and the service staff (seed 000).
    Permission.SEND_MESSAGES: frozenset({Role.ADMIN, Role.CUSTOMER_SERVICE, Role.HMS_STAFF}),
    # Efterregistrering (seed 004): Hjälpmedelsservice follow every item back to the main server.
    Permission.REVIEW_SYNC: frozenset({Role.HMS_STAFF}),
    # Which kinds each role may approve is configured (SYNC_REVIEW, sync.review.may_review); the
    # payloads may name patients, so only roles that work with patients can be configured at all.
    Permission.APPROVE_SYNC_ITEMS: frozenset(_PATIENT_WORKERS),
    Permission.READ_SYNC_REPORTS: frozenset({Role.HMS_STAFF, Role.IT_STAFF, Role.ADMIN}),
}


def roles_allow(roles: set[Role] | frozenset[Role], permission: Permission) -> bool:
    """Return whether any of the roles grants the permission."""
    return bool(PERMISSIONS[permission] & set(roles))
