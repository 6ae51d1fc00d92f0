"""All models, imported here so Alembic and the app see the whole schema."""
from core.models.access_log import AccessJournalFile, AccessLogEntry
from core.models.catalogue import PRODUCT_AREA_CODES, Article, ProductArea
from core.models.news import NewsItem
from core.models.numbering import NumberSeries
from core.models.outgoing_mail import OutgoingMail
from core.models.organisation import CENTRAL_WAREHOUSE_NUMBER, PrescribingUnit, UnitPayer, Warehouse
from core.models.patients import NUTRITION_FULL, ContactPerson, Patient
from core.models.saved_searches import SAVED_SEARCH_SCOPES, SavedSearch
from core.models.prescriptions import (
    ROW_ACTIVE, ROW_CANCELLED, ROW_DELIVERED, ROW_EXPIRED, Prescription, PrescriptionRow,
)
from core.models.sessions import UserSession
from core.models.users import ApiToken, LoginFailure, User, UserRole, user_product_areas, user_units

__all__ = [
    "AccessJournalFile", "AccessLogEntry", "ApiToken", "Article", "CENTRAL_WAREHOUSE_NUMBER", "ContactPerson",
    "LoginFailure", "NUTRITION_FULL", "NewsItem", "NumberSeries", "OutgoingMail", "Prescription", "PrescriptionRow",
    "ROW_ACTIVE", "ROW_CANCELLED", "ROW_DELIVERED", "ROW_EXPIRED", "SAVED_SEARCH_SCOPES", "SavedSearch", "PRODUCT_AREA_CODES", "Patient",
    "PrescribingUnit", "ProductArea", "UnitPayer", "User", "UserRole", "UserSession", "Warehouse",
    "user_product_areas", "user_units",
]
