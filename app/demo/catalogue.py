"""The demo article catalogue: product lines combined into ~2,400 articles; no Flask."""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

ECO_LABELS = ("Svanen", "EU Ecolabel")
IMAGE_SHARE = 0.8  # the rest have no picture, as in a real assortment


@dataclass(frozen=True)
class Supplier:
    name: str
    brand: str
    prefix: str  # of the supplier's own article numbers


@dataclass(frozen=True)
class ProductLine:
    """One kind of product; every combination of its axes is one article per carrying supplier."""

    area: str
    group: str
    subgroup: str
    noun: str
    axes: tuple[tuple[str, ...], ...]
    package_sizes: tuple[int, ...]
    piece_price: tuple[float, float]  # SEK per piece, low and high
    image: str
    suppliers: int = 2  # how many of the area's suppliers carry the line
    eco_share: float = 0.0


# Fictional Nordic suppliers; the brand ends each article name so lines from two suppliers differ.
SUPPLIERS: dict[str, tuple[Supplier, ...]] = {
    "inkontinens": (
        Supplier("Nordvård AB", "Vila", "NV"),
        Supplier("Skandi Hygien AB", "Trygga", "SH"),
        Supplier("Öresund Care ApS", "Dagny", "OC"),
        Supplier("Lindahl & Berg Medical AB", "Comfa", "LB"),
    ),
    "nutrition": (
        Supplier("Norrsken Nutrition AB", "Nutrivia", "NN"),
        Supplier("Kullaberg Klinisk Nutrition AB", "Kullanut", "KK"),
        Supplier("Fjordmat Medical AS", "Fjordia", "FM"),
    ),
    "diabetes": (
        Supplier("Aurora Diabetes AB", "Glukoline", "AD"),
        Supplier("Glykos Medical AB", "Glykos", "GM"),
        Supplier("Tarkka Medical Oy", "Tarkka", "TM"),
    ),
    "stomi": (
        Supplier("Stomiteknik Norden AB", "Stomia", "ST"),
        Supplier("Dansk Ostomi ApS", "Ostoflex", "DO"),
        Supplier("Vikingmed AB", "Skona", "VM"),
    ),
}

SIZES_XS_XL = ("stl XS", "stl S", "stl M", "stl L", "stl XL")
CH_SIZES = ("CH 8", "CH 10", "CH 12", "CH 14", "CH 16", "CH 18")
FLAVOURS = ("Choklad", "Jordgubb", "Vanilj", "Kaffe", "Skogsbär", "Banan", "Neutral", "Aprikos", "Persika", "Citron")
FLANGES = ("fläns 40 mm", "fläns 50 mm", "fläns 60 mm", "fläns 70 mm")
BAG_TYPES = ("Öppen", "Sluten", "Urostomi")
BAG_SIZES = ("Mini", "Midi", "Maxi")
BAG_COLOURS = ("Transparent", "Beige")

_INK, _NUT, _DIA, _STO = "inkontinens", "nutrition", "diabetes", "stomi"
_ABSORBENT = "Absorberande inkontinensskydd"
_URINE = "Uridomer, katetrar och urinpåsar"
_TUBE = "Sondmatningstillbehör"
_BAGS = "Stomipåsar"
_STOMA_ACC = "Stomitillbehör"

PRODUCT_LINES: tuple[ProductLine, ...] = (
    # Inkontinens
    ProductLine(_INK, _ABSORBENT, "Inlägg", "Inkontinensskydd Inlägg",
                (("Mini", "Normal", "Extra", "Super", "Natt"),), (20, 28, 30, 36), (1.8, 4.2),
                "inkontinens-skydd.svg", 4, 0.4),
    ProductLine(_INK, _ABSORBENT, "Herrskydd", "Inkontinensskydd för män",
                (("Droppskydd", "Nivå 1", "Nivå 2", "Nivå 3"),), (14, 20, 24), (2.0, 4.0),
                "inkontinens-skydd.svg", 3, 0.4),
    ProductLine(_INK, _ABSORBENT, "Allt-i-ett-skydd", "Inkontinensskydd Slip",
                (("Normal", "Plus", "Super", "Maxi"), ("Textilbaksida", "Plastbaksida"), SIZES_XS_XL),
                (10, 14, 20, 28), (5.5, 11.0), "inkontinens-skydd.svg", 4, 0.3),
    ProductLine(_INK, _ABSORBENT, "Byxskydd", "Byxskydd",
                (("Normal", "Plus", "Extra", "Super", "Maxi"), SIZES_XS_XL), (12, 14, 16, 18), (4.0, 8.5),
                "inkontinens-skydd.svg", 4, 0.3),
    ProductLine(_INK, _ABSORBENT, "Bältesskydd", "Bältesskydd",
                (("Normal", "Plus", "Maxi"), ("stl M", "stl L", "stl XL")), (14, 20), (6.0, 10.0),
                "inkontinens-skydd.svg", 3, 0.2),
    ProductLine(_INK, _ABSORBENT, "Formskydd", "Formskydd",
                (("Normal", "Extra", "Plus", "Super", "Maxi", "Natt"),), (21, 26, 28), (3.5, 7.5),
                "inkontinens-skydd.svg", 4, 0.4),
    ProductLine(_INK, "Underlägg", "Engångsunderlägg", "Underlägg Engångs",
                (("40x60 cm", "60x60 cm", "60x90 cm", "75x85 cm", "85x90 cm"),), (25, 30, 35), (1.5, 4.0),
                "inkontinens-underlagg.svg", 3, 0.5),
    ProductLine(_INK, "Underlägg", "Tvättbara underlägg", "Underlägg Tvättbart",
                (("60x90 cm", "75x85 cm", "85x90 cm"), ("med instickskanter", "utan instickskanter")),
                (1,), (140.0, 260.0), "inkontinens-underlagg.svg", 2),
    ProductLine(_INK, "Fixering", "Fixeringsbyxor", "Fixeringsbyxa",
                (("Standard", "Komfort", "Långa ben"), ("stl S", "stl M", "stl L", "stl XL", "stl XXL")),
                (3, 5, 10), (12.0, 28.0), "inkontinens-fixering.svg", 3),
    ProductLine(_INK, _URINE, "Uridomer", "Uridom",
                (("Självhäftande", "Kort självhäftande", "Med häftremsa"),
                 ("21 mm", "25 mm", "29 mm", "32 mm", "36 mm", "41 mm")), (30,), (9.0, 16.0),
                "inkontinens-uridom.svg", 3),
    ProductLine(_INK, _URINE, "Urinpåsar", "Urinpåse",
                (("Benpåse", "Nattpåse", "Bäddpåse"), ("500 ml", "750 ml", "1000 ml", "2000 ml"),
                 ("med tömningskran", "utan tömningskran")), (10, 30), (6.0, 18.0), "inkontinens-uridom.svg", 2),
    ProductLine(_INK, _URINE, "Katetrar för ren intermittent kateterisering", "Urinkateter Nelaton",
                (("Kvinna", "Man", "Barn"), CH_SIZES), (30, 100), (4.0, 9.0), "inkontinens-kateter.svg", 3),
    ProductLine(_INK, _URINE, "Katetrar för ren intermittent kateterisering", "Hydrofil kateter",
                (("Kvinna", "Man", "Barn"), CH_SIZES), (30,), (18.0, 32.0), "inkontinens-kateter.svg", 3),
    ProductLine(_INK, "Hudvård", "Hudskydd och rengöring", "Hudskyddskräm",
                (("Parfymfri", "Med zink"), ("100 ml", "200 ml")), (1,), (45.0, 95.0), "inkontinens-skydd.svg", 3,
                0.5),
    ProductLine(_INK, "Hudvård", "Hudskydd och rengöring", "Tvättlotion",
                (("Parfymfri", "Mild"), ("500 ml", "1000 ml")), (1,), (55.0, 120.0), "inkontinens-skydd.svg", 3, 0.5),
    ProductLine(_INK, "Hudvård", "Hudskydd och rengöring", "Tvättservetter",
                (("Parfymfri", "Med aloe vera", "Fuktade"),), (48, 64, 80), (0.5, 1.2), "inkontinens-skydd.svg", 3,
                0.6),
    # Nutrition
    ProductLine(_NUT, "Sondnäring", "Komplett sondnäring", "Sondnäring",
                (("Standard", "Energi", "Fiber", "Energi Fiber", "Protein", "Peptid", "Diabetes", "Multifiber",
                  "Junior"), ("500 ml", "1000 ml", "1500 ml")), (8, 12, 15), (38.0, 120.0),
                "nutrition-sondnaring.svg", 3),
    ProductLine(_NUT, "Kosttillägg", "Näringsdrycker", "Näringsdryck",
                (("Energi", "Protein", "Compact", "Plus", "Fiber", "Juice"), FLAVOURS, ("125 ml", "200 ml")),
                (4, 24, 32), (18.0, 34.0), "nutrition-naringsdryck.svg", 3),
    ProductLine(_NUT, "Kosttillägg", "Näringskrämer", "Näringskräm",
                (("Energi", "Protein"), ("Vanilj", "Choklad", "Jordgubb", "Karamell"), ("125 g",)), (4, 24),
                (22.0, 36.0), "nutrition-naringsdryck.svg", 3),
    ProductLine(_NUT, "Förtjockning", "Förtjockningsmedel", "Förtjockningsmedel",
                (("Pulver", "Gel"), ("125 g", "225 g", "300 g")), (1, 6, 12), (55.0, 140.0),
                "nutrition-fortjockning.svg", 3),
    ProductLine(_NUT, "Förtjockning", "Förtjockade drycker", "Förtjockad dryck",
                (("Nivå 2", "Nivå 3"), ("Apelsin", "Äpple", "Vatten", "Kaffe", "Saft")), (12, 24), (14.0, 26.0),
                "nutrition-fortjockning.svg", 2),
    ProductLine(_NUT, "Berikning", "Energi- och proteinberikning", "Proteinpulver",
                (("Neutral", "Vanilj", "Choklad"), ("225 g", "300 g", "500 g")), (1, 6), (120.0, 290.0),
                "nutrition-berikning.svg", 3),
    ProductLine(_NUT, "Berikning", "Energi- och proteinberikning", "Energipulver",
                (("Neutral",), ("400 g", "800 g")), (1, 6), (95.0, 210.0), "nutrition-berikning.svg", 3),
    ProductLine(_NUT, "Berikning", "Energi- och proteinberikning", "Fettemulsion",
                (("Neutral", "Jordgubb"), ("200 ml", "500 ml")), (1, 4), (85.0, 180.0), "nutrition-berikning.svg", 2),
    ProductLine(_NUT, "Specialnäring", "Specialnäring för barn", "Modersmjölksersättning",
                (("Aminosyrabaserad", "Extensivt hydrolyserad", "Laktosfri"), ("400 g",)), (1, 6),
                (180.0, 420.0), "nutrition-berikning.svg", 3),
    ProductLine(_NUT, "Specialnäring", "Ketogen kost", "Ketogen näring",
                (("Pulver 300 g", "Flytande 500 ml", "Flytande 200 ml"), ("Neutral", "Vanilj")), (1, 6, 12),
                (160.0, 380.0), "nutrition-berikning.svg", 2),
    ProductLine(_NUT, _TUBE, "Aggregat och sprutor", "Aggregat för sondmatning",
                (("Gravitation", "Pump"), ("ENFit",), ("med påse 1000 ml", "utan påse")), (30,), (12.0, 26.0),
                "nutrition-tillbehor.svg", 3),
    ProductLine(_NUT, _TUBE, "Aggregat och sprutor", "Spruta ENFit",
                (("5 ml", "10 ml", "20 ml", "60 ml"), ("Engångs", "Flergångs")), (30, 50, 100), (2.0, 7.0),
                "nutrition-tillbehor.svg", 3),
    ProductLine(_NUT, _TUBE, "Sonder", "Nasogastrisk sond",
                (("CH 6", "CH 8", "CH 10", "CH 12", "CH 14"), ("75 cm", "120 cm")), (1, 10), (45.0, 120.0),
                "nutrition-tillbehor.svg", 3),
    ProductLine(_NUT, _TUBE, "Sonder", "Gastrostomiport",
                (("12 Fr", "14 Fr", "16 Fr", "18 Fr", "20 Fr"), ("1,5 cm", "2,0 cm", "2,5 cm", "3,0 cm")), (1,),
                (1400.0, 2600.0), "nutrition-tillbehor.svg", 2),
    ProductLine(_NUT, _TUBE, "Sonder", "Förlängningsset ENFit",
                (("Rak", "Vinklad", "Bolus"),), (5, 10), (40.0, 75.0), "nutrition-tillbehor.svg", 3),
    # Diabetes
    ProductLine(_DIA, "Blodsockermätning", "Teststickor", "Blodsockerteststickor",
                (("Standard", "Plus", "Mini"),), (50,), (3.5, 6.5), "diabetes-teststickor.svg", 3),
    ProductLine(_DIA, "Blodsockermätning", "Teststickor", "Ketonteststickor",
                (("Blod", "Blod extra känslig"),), (10,), (12.0, 28.0), "diabetes-teststickor.svg", 3),
    ProductLine(_DIA, "Blodsockermätning", "Teststickor", "Urinteststickor",
                (("Glukos", "Keton", "Glukos och keton"),), (50,), (1.2, 2.8), "diabetes-teststickor.svg", 2),
    ProductLine(_DIA, "Blodsockermätning", "Mätare och kontrollösning", "Blodsockermätare",
                # Meters are handed out free of charge; the strips are what costs.
                (("Standard", "Bluetooth", "Med ketonmätning"),), (1,), (0.0, 0.0), "diabetes-teststickor.svg", 3),
    ProductLine(_DIA, "Blodsockermätning", "Mätare och kontrollösning", "Kontrollösning",
                (("Låg", "Normal", "Hög"),), (1,), (60.0, 110.0), "diabetes-teststickor.svg", 3),
    ProductLine(_DIA, "Lansetter", "Lansetter och fingerstickare", "Lansetter",
                (("21G", "23G", "26G", "28G", "30G", "33G"),), (100, 200), (0.4, 1.1), "diabetes-lansetter.svg", 3),
    ProductLine(_DIA, "Lansetter", "Lansetter och fingerstickare", "Säkerhetslansett",
                (("21G", "23G", "28G"), ("1,8 mm", "2,2 mm")), (100, 200), (1.0, 2.2), "diabetes-lansetter.svg", 3),
    ProductLine(_DIA, "Lansetter", "Lansetter och fingerstickare", "Fingerstickare",
                (("Standard", "Justerbart djup"),), (1,), (60.0, 140.0), "diabetes-lansetter.svg", 3),
    ProductLine(_DIA, "Injektion", "Pennkanyler", "Pennkanyl",
                (("4 mm", "5 mm", "6 mm", "8 mm", "10 mm", "12 mm"), ("29G", "30G", "31G", "32G", "33G", "34G")),
                (100,), (1.2, 2.6), "diabetes-kanyler.svg", 3),
    ProductLine(_DIA, "Injektion", "Pennkanyler", "Säkerhetspennkanyl",
                (("4 mm", "5 mm", "8 mm"), ("30G", "31G", "32G")), (100,), (2.8, 4.8), "diabetes-kanyler.svg", 3),
    ProductLine(_DIA, "Injektion", "Insulinsprutor", "Insulinspruta",
                (("0,3 ml", "0,5 ml", "1 ml"), ("6 mm", "8 mm", "12,7 mm"), ("30G", "31G")), (100,), (1.5, 3.2),
                "diabetes-kanyler.svg", 2),
    ProductLine(_DIA, "Kontinuerlig glukosmätning", "Sensorer", "Glukossensor",
                (("7 dagar", "10 dagar", "14 dagar", "15 dagar"),), (1, 2), (450.0, 1100.0),
                "diabetes-sensor.svg", 3),
    ProductLine(_DIA, "Kontinuerlig glukosmätning", "Sensorer", "Sensorsändare",
                (("Standard", "Uppladdningsbar"),), (1,), (1800.0, 3200.0), "diabetes-sensor.svg", 3),
    ProductLine(_DIA, "Kontinuerlig glukosmätning", "Fixering", "Överplåster för sensor",
                (("Standard", "Vattentåligt"), ("Beige", "Transparent", "Svart")), (20, 25), (4.0, 9.0),
                "diabetes-sensor.svg", 3),
    ProductLine(_DIA, "Insulinpump", "Infusionsset", "Infusionsset",
                (("Rak", "Vinklad"), ("6 mm", "9 mm", "13 mm", "17 mm"),
                 ("slang 45 cm", "slang 60 cm", "slang 80 cm", "slang 110 cm")), (10,), (65.0, 120.0),
                "diabetes-pump.svg", 3),
    ProductLine(_DIA, "Insulinpump", "Reservoarer", "Reservoar",
                (("1,8 ml", "2,0 ml", "3,0 ml"),), (10,), (38.0, 70.0), "diabetes-pump.svg", 3),
    ProductLine(_DIA, "Hudvård", "Hudskydd", "Hudskyddsfilm",
                (("Servett", "Spray", "Applikator"),), (1, 50), (4.0, 12.0), "diabetes-sensor.svg", 2),
    ProductLine(_DIA, "Hudvård", "Hudskydd", "Häftborttagare",
                (("Servett", "Spray"),), (1, 50), (3.0, 9.0), "diabetes-sensor.svg", 2),
    # Stomi
    ProductLine(_STO, _BAGS, "Endelade stomipåsar", "Stomipåse",
                (BAG_TYPES, BAG_SIZES, BAG_COLOURS,
                 ("Uppklippbar 10–55 mm", "25 mm", "30 mm", "35 mm", "40 mm", "45 mm", "50 mm")),
                (10, 20, 30), (28.0, 55.0), "stomi-pase.svg", 3),
    ProductLine(_STO, _BAGS, "Tvådelade stomipåsar", "Stomipåse tvådelad",
                (BAG_TYPES, BAG_SIZES, BAG_COLOURS, FLANGES), (20, 30), (16.0, 32.0), "stomi-pase.svg", 3),
    ProductLine(_STO, "Basplattor", "Basplattor för tvådelade system", "Basplatta",
                (("Plan", "Lätt konvex", "Konvex"), FLANGES,
                 ("Uppklippbar 10–35 mm", "Uppklippbar 15–45 mm", "Formbar")), (5, 10), (60.0, 120.0),
                "stomi-basplatta.svg", 3),
    ProductLine(_STO, _STOMA_ACC, "Hudskydd", "Hudskyddsring",
                (("2,0 mm", "4,2 mm"), ("Rak", "Konvex"), ("48 mm", "98 mm")), (10, 30), (18.0, 40.0),
                "stomi-tillbehor.svg", 3),
    ProductLine(_STO, _STOMA_ACC, "Hudskydd", "Stomipasta",
                (("Tub 60 g", "Strips"),), (1, 10), (70.0, 140.0), "stomi-tillbehor.svg", 3),
    ProductLine(_STO, _STOMA_ACC, "Hudskydd", "Stomipulver",
                (("25 g",),), (1,), (80.0, 130.0), "stomi-tillbehor.svg", 3),
    ProductLine(_STO, _STOMA_ACC, "Hudskydd", "Häftborttagningsspray",
                (("50 ml", "150 ml"),), (1,), (110.0, 210.0), "stomi-tillbehor.svg", 3),
    ProductLine(_STO, _STOMA_ACC, "Hudskydd", "Hudskyddsfilm för stomi",
                (("Servett", "Spray 28 ml", "Applikator"),), (1, 30), (5.0, 14.0), "stomi-tillbehor.svg", 3),
    ProductLine(_STO, _STOMA_ACC, "Bälten och bråckstöd", "Stomibälte",
                (("Justerbart", "Elastiskt"), ("stl S", "stl M", "stl L", "stl XL")), (1,), (90.0, 190.0),
                "stomi-tillbehor.svg", 3),
    ProductLine(_STO, _STOMA_ACC, "Bälten och bråckstöd", "Stomibråckbälte",
                (("stl S", "stl M", "stl L", "stl XL", "stl XXL"), ("höjd 20 cm", "höjd 25 cm")), (1,),
                (550.0, 1100.0), "stomi-tillbehor.svg", 2),
    ProductLine(_STO, _STOMA_ACC, "Övriga tillbehör", "Deodorant för stomipåse",
                (("Droppar 50 ml", "Spray 50 ml"), ("Parfymfri", "Mint")), (1,), (70.0, 130.0),
                "stomi-tillbehor.svg", 3),
    ProductLine(_STO, _STOMA_ACC, "Övriga tillbehör", "Gelbildande tabletter",
                (("för ileostomi", "för urostomi"),), (100,), (1.2, 2.5), "stomi-tillbehor.svg", 2),
    ProductLine(_STO, _STOMA_ACC, "Övriga tillbehör", "Irrigationsset",
                (("Komplett", "Refill"),), (1,), (650.0, 1200.0), "stomi-tillbehor.svg", 2),
    ProductLine(_STO, _STOMA_ACC, "Övriga tillbehör", "Stomipropp",
                (("25 mm", "30 mm", "35 mm", "40 mm", "45 mm"),), (30,), (18.0, 30.0), "stomi-tillbehor.svg", 2),
)

def group_images() -> dict[str, str]:
    """Return the placeholder image file for each (area, product group) pair."""
    return {f"{line.area}/{line.group}": line.image for line in PRODUCT_LINES}


def _package_price(rng: random.Random, line: ProductLine, package_size: int) -> Decimal:
    """Return a package price rounded to 50 öre, the way supplier price lists look."""
    low, high = line.piece_price
    value = rng.uniform(low, high) * package_size
    return Decimal(round(value * 2) / 2).quantize(Decimal("0.01"))


def _eco_label(rng: random.Random, share: float) -> str | None:
    roll = rng.random()
    if roll < share * 0.75:
        return ECO_LABELS[0]
    if roll < share:
        return ECO_LABELS[1]
    return None


def build_articles(rng: random.Random) -> list[dict[str, Any]]:
    """Return every demo article as a row dict keyed like the articles table, plus `area` (product area code)."""
    rows: list[dict[str, Any]] = []
    next_supplier_number = {s.prefix: rng.randrange(10_000, 60_000) for group in SUPPLIERS.values() for s in group}
    for line in PRODUCT_LINES:
        carriers = rng.sample(SUPPLIERS[line.area], min(line.suppliers, len(SUPPLIERS[line.area])))
        for supplier in carriers:
            for variant in itertools.product(*line.axes):
                package_size = rng.choice(line.package_sizes)
                next_supplier_number[supplier.prefix] += rng.randrange(1, 9)
                rows.append({
                    "area": line.area,
                    "name": f"{' '.join((line.noun, *variant))}, {supplier.brand}",
                    "package_size": package_size,
                    "unit_price": _package_price(rng, line, package_size),
                    "supplier": supplier.name,
                    "supplier_article_number": f"{supplier.prefix}-{next_supplier_number[supplier.prefix]}",
                    "product_group": line.group,
                    "subgroup": line.subgroup,
                    "image": line.image if rng.random() < IMAGE_SHARE else None,
                    "eco_label": _eco_label(rng, line.eco_share),
                    "is_active": True,
                })
    # Six-digit numbers drawn without replacement: unique, and not in catalogue order, as in Sesam.
    for row, number in zip(rows, rng.sample(range(100_000, 1_000_000), len(rows)), strict=True):
        row["number"] = str(number)
    return rows
