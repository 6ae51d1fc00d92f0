"""Demo reference data: product areas, prescribing units with payers, warehouses, news, users."""
from __future__ import annotations

from dataclasses import dataclass

PRODUCT_AREAS: tuple[tuple[str, str], ...] = (
    ("inkontinens", "Inkontinens"),
    ("nutrition", "Nutrition"),
    ("diabetes", "Diabetes"),
    ("stomi", "Stomi"),
)

REGION = "Region Skåne"


@dataclass(frozen=True)
class UnitSpec:
    customer_number: str
    name: str
    payers: tuple[tuple[str, str], ...]  # (product area code, payer); areas left out have no payer


def _region(*areas: str) -> tuple[tuple[str, str], ...]:
    return tuple((area, REGION) for area in areas)


def _municipal(payer: str) -> tuple[tuple[str, str], ...]:
    # Municipal home care pays incontinence aids and nutrition; stoma and diabetes stay with the region.
    return (("inkontinens", payer), ("nutrition", payer))


UNITS: tuple[UnitSpec, ...] = (
    UnitSpec("410215", "Vårdcentralen Norra Fäladen", _region("inkontinens", "nutrition", "diabetes", "stomi")),
    UnitSpec("410238", "Vårdcentralen Södra Sandby", _region("inkontinens", "diabetes")),
    UnitSpec("410244", "Vårdcentralen Linero", _region("inkontinens", "nutrition", "diabetes")),
    UnitSpec("410251", "Vårdcentralen Sjöbo", _region("inkontinens", "diabetes", "stomi")),
    UnitSpec("410268", "Vårdcentralen Tomelilla", _region("inkontinens", "nutrition", "diabetes")),
    UnitSpec("410275", "Vårdcentralen Hörby", _region("inkontinens", "diabetes")),
    UnitSpec("410282", "Vårdcentralen Kirseberg", _region("inkontinens", "diabetes", "stomi")),
    UnitSpec("420107", "Hemsjukvården Lund", _municipal("Lunds kommun")),
    UnitSpec("420113", "Hemsjukvården Malmö Öster", _municipal("Malmö stad")),
    UnitSpec("430301", "Kommunal hälso- och sjukvård Eslöv", _municipal("Eslövs kommun")),
    UnitSpec("430318", "Kommunal hälso- och sjukvård Höör", _municipal("Höörs kommun")),
    UnitSpec("430325", "Kommunal hälso- och sjukvård Kävlinge", _municipal("Kävlinge kommun")),
    UnitSpec("430332", "Kommunal hälso- och sjukvård Landskrona", _municipal("Landskrona stad")),
    UnitSpec("430349", "Kommunal hälso- och sjukvård Ystad", _municipal("Ystads kommun")),
    UnitSpec("440120", "Diabetesmottagningen Skånes universitetssjukhus Lund", _region("diabetes")),
    UnitSpec("440137", "Stomimottagningen Skånes universitetssjukhus Malmö", _region("stomi")),
    UnitSpec("440144", "Dietistmottagningen Helsingborgs lasarett", _region("nutrition")),
    UnitSpec("440151", "Uroterapimottagningen Ystads lasarett", _region("inkontinens")),
    UnitSpec("440168", "Medicinmottagningen Centralsjukhuset Kristianstad", _region("diabetes", "nutrition")),
    UnitSpec("440175", "Kirurgmottagningen Trelleborgs lasarett", _region("stomi", "nutrition")),
    UnitSpec("440182", "Barn- och ungdomsmedicinska mottagningen Helsingborg",
             _region("diabetes", "nutrition", "inkontinens")),
)

# (number, name, kind, customer number of the owning care unit)
WAREHOUSES: tuple[tuple[int, str, str, str | None], ...] = (
    (10, "HMS centrallager", "central", None),
    (101, "Kommunlager Eslöv", "municipal", "430301"),
    (102, "Kommunlager Höör", "municipal", "430318"),
    (103, "Kommunlager Kävlinge", "municipal", "430325"),
    (104, "Kommunlager Landskrona", "municipal", "430332"),
    (105, "Kommunlager Lund hemsjukvård", "municipal", "420107"),
    (106, "Kommunlager Ystad", "municipal", "430349"),
)

# (days before seeding, title, body)
NEWS: tuple[tuple[int, str, str], ...] = (
    (2, "Nytt sortiment inkontinensskydd från 1 mars",
     "Efter den nya upphandlingen byts delar av sortimentet för absorberande inkontinensskydd ut. "
     "Aktiva förskrivningar på utgående artiklar behöver kopieras till en ersättningsartikel. "
     "En lista över ersättningsartiklar finns under Produkter."),
    (6, "Planerat underhåll tisdag kväll",
     "Tisdag kl. 18.00–20.00 uppdateras huvudsystemet. Förskrivningsportalen fungerar som vanligt, "
     "men uttag som skapas under underhållet skickas först när uppdateringen är klar."),
    (13, "Ändrade öppettider i kundservice under helgerna",
     "Kundservice har öppet kl. 09.00–12.00 på dag före röd dag. Akuta ärenden hänvisas till reservrutinen "
     "enligt driftinformationen."),
    (27, "Påminnelse: kontrollera leveransadress vid förskrivning",
     "Allt fler patienter på särskilt boende får sina hjälpmedel levererade till boendet. Kontrollera "
     "leveransadressen i patientöversikten innan du sparar förskrivningen."),
)


@dataclass(frozen=True)
class DemoUser:
    role: str  # also the username, so the demo login is easy to remember
    name: str
    hsa_id: str
    email: str
    phone: str
    workplace: str
    product_areas: tuple[str, ...] = ()
    unit_numbers: tuple[str, ...] = ()  # customer relations (kundkopplingar)


DEMO_PASSWORD = "demo"

# The prescriber is a district nurse authorised for inkontinens, nutrition and stomi, not diabetes.
# Stomi has a payer at exactly one of her units (Norra Fäladen), so that unit is preselected;
# inkontinens has three candidate units and nutrition two, so there she chooses.
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("prescriber", "Anna Lindström", "SE2321000255-F7K2", "anna.lindstrom@skane.example",
             "040-628 04 11", "Vårdcentralen Norra Fäladen", ("inkontinens", "nutrition", "stomi"),
             ("410215", "420107", "410238")),
    DemoUser("customer_service", "Maria Persson", "SE2321000255-K3S8", "maria.persson@skane.example",
             "040-628 04 22", "Kundservice, Hjälpmedel Skåne"),
    DemoUser("hms_staff", "Johan Nilsson", "SE2321000255-H9M4", "johan.nilsson@skane.example",
             "040-628 04 33", "Hjälpmedelsservice, lager 10"),
    DemoUser("technician", "Erik Svensson", "SE2321000255-T5E6", "erik.svensson@skane.example",
             "040-628 04 44", "Hjälpmedelsservice, teknisk service"),
    DemoUser("it_staff", "Sara Håkansson", "SE2321000255-I2T7", "sara.hakansson@skane.example",
             "040-628 04 55", "Regional IT, systemförvaltning"),
    DemoUser("admin", "Karin Bengtsson", "SE2321000255-A4D1", "karin.bengtsson@skane.example",
             "040-628 04 66", "Hjälpmedel Skåne, verksamhetsledning"),
)
