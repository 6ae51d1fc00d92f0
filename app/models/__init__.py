"""All models, imported here so Alembic and the app see the whole schema."""
from app.models.access_log import AccessLogEntry
from app.models.catalogue import PRODUCT_AREA_CODES, Article, ProductArea
from app.models.news import NewsItem
from app.models.numbering import NumberSeries
from app.models.organisation import CENTRAL_WAREHOUSE_NUMBER, PrescribingUnit, UnitPayer, Warehouse
from app.models.patients import NUTRITION_FULL, ContactPerson, Patient
from app.models.saved_searches import SAVED_SEARCH_SCOPES, SavedSearch
from app.models.prescriptions import (
    ROW_ACTIVE, ROW_CANCELLED, ROW_DELIVERED, ROW_EXPIRED, Prescription, PrescriptionRow,
)
from app.models.users import ApiToken, LoginFailure, User, UserRole, user_product_areas, user_units

__all__ = [
    "AccessLogEntry", "ApiToken", "Article", "CENTRAL_WAREHOUSE_NUMBER", "ContactPerson",
    "LoginFailure", "NUTRITION_FULL", "NewsItem", "NumberSeries", "Prescription", "PrescriptionRow",
    "ROW_ACTIVE", "ROW_CANCELLED", "ROW_DELIVERED", "ROW_EXPIRED", "SAVED_SEARCH_SCOPES", "SavedSearch", "PRODUCT_AREA_CODES", "Patient",
    "PrescribingUnit", "ProductArea", "UnitPayer", "User", "UserRole", "Warehouse",
    "user_product_areas", "user_units",
]
import status.models  # noqa: E402,F401 - the status monitor's tables, for Alembic
