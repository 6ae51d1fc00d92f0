"""The demo generators are plain functions over a seeded random source: no app, no store."""
from __future__ import annotations

import random
import re
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from core.auth.roles import Role
from app.demo import names, reference
from app.demo.catalogue import ECO_LABELS, build_articles
from app.demo.people import (
    FIRST_BIRTH_YEAR, LAST_BIRTH_YEAR, PersonnummerSource, generate_patients,
)
from core.models.catalogue import PRODUCT_AREA_CODES
from core.models.patients import NUTRITION_FULL
from core.privacy.personnummer import birth_date, is_coordination_number, validate_personnummer

NOW = datetime(2026, 3, 2, 9, 0)
ARTICLE_IMAGES = Path(__file__).resolve().parents[2] / "app" / "static" / "articles"


def _patients(count: int, seed: int = 3, chunk_size: int = 10_000) -> list[dict]:
    return [row for chunk in generate_patients(random.Random(seed), count, NOW, chunk_size) for row in chunk.patients]


def test_personnummer_are_valid_unique_and_about_two_percent_samordningsnummer() -> None:
    source = PersonnummerSource(random.Random(5))
    numbers = [source.next(female=i % 2 == 0) for i in range(20_000)]
    assert len(set(numbers)) == len(numbers)
    for number in numbers:
        validate_personnummer(number)
        assert FIRST_BIRTH_YEAR <= birth_date(number).year <= LAST_BIRTH_YEAR
    coordination = sum(is_coordination_number(number) for number in numbers)
    assert 200 <= coordination <= 600


def test_personnummer_birth_number_is_even_for_women_and_odd_for_men() -> None:
    source = PersonnummerSource(random.Random(5))
    assert all(int(source.next(female=True)[10]) % 2 == 0 for _ in range(500))
    assert all(int(source.next(female=False)[10]) % 2 == 1 for _ in range(500))


def test_one_birth_date_holds_499_numbers_for_women_and_500_for_men() -> None:
    source = PersonnummerSource(random.Random(5))
    women = [source._take(4 * 100 + 1, female=True) for _ in range(499)]
    men = [source._take(4 * 100, female=False) for _ in range(500)]
    assert len(set(women)) == 499 and 0 not in women
    assert len(set(men)) == 500
    assert source._take(4 * 100 + 1, female=True) is None
    assert source._take(4 * 100, female=False) is None


def test_same_seed_gives_same_patients_and_a_smaller_run_is_a_prefix() -> None:
    assert _patients(50) == _patients(120)[:50]
    assert _patients(50, seed=4) != _patients(50)


def test_patients_come_in_bounded_chunks_with_contacts_of_their_own_chunk() -> None:
    chunks = list(generate_patients(random.Random(8), 2_500, NOW, chunk_size=1_000))
    assert [len(chunk.patients) for chunk in chunks] == [1_000, 1_000, 500]
    for chunk in chunks:
        in_chunk = {row["personnummer"] for row in chunk.patients}
        assert {contact["personnummer"] for contact in chunk.contact_persons} <= in_chunk


def test_patients_have_swedish_names_matching_their_sex_and_skane_addresses() -> None:
    female_names = {name for group in names.FEMALE_FIRST_NAMES.values() for name in group}
    male_names = {name for group in names.MALE_FIRST_NAMES.values() for name in group}
    towns = {city for city, _, _ in names.TOWNS}
    for row in _patients(2_000):
        female = int(row["personnummer"][10]) % 2 == 0
        assert row["first_name"] in (female_names if female else male_names)
        assert row["last_name"] in names.LAST_NAMES
        assert re.fullmatch(r"\d{3} \d{2}", row["registered_postal_code"])
        assert row["registered_city"] in towns
        if row["delivery_street"] is not None:
            assert re.fullmatch(r"\d{3} \d{2}", row["delivery_postal_code"]) and row["delivery_city"] in towns


def test_patient_mix_has_special_housing_full_nutrition_delivery_addresses_and_contacts() -> None:
    chunk = next(generate_patients(random.Random(9), 5_000, NOW))
    rows = chunk.patients
    special = [row for row in rows if row["special_housing"]]
    assert 0.01 * len(rows) <= len(special) <= 0.08 * len(rows)
    # Residents of special housing pay nothing for nutrition, so their category stays blank.
    assert all(row["nutrition_category"] is None and row["delivery_street"] for row in special)
    assert {row["nutrition_category"] for row in rows} == {None, NUTRITION_FULL}
    assert sum(row["delivery_street"] is not None for row in rows) > len(special)
    relations = Counter(contact["relation"] for contact in chunk.contact_persons)
    assert relations["Dotter"] and relations["Son"]
    assert all(contact["phone"].startswith(names.FICTIONAL_MOBILE_PREFIX) for contact in chunk.contact_persons)


def test_catalogue_has_over_2000_unique_six_digit_articles_in_all_four_areas() -> None:
    articles = build_articles(random.Random(1))
    assert len(articles) >= 2000
    numbers = [row["number"] for row in articles]
    assert len(set(numbers)) == len(numbers)
    assert all(re.fullmatch(r"[1-9]\d{5}", number) for number in numbers)
    assert {row["area"] for row in articles} == set(PRODUCT_AREA_CODES)
    assert len({row["name"] for row in articles}) == len(articles)


def test_articles_have_prices_package_sizes_images_and_some_eco_labels() -> None:
    articles = build_articles(random.Random(1))
    for row in articles:
        assert row["package_size"] > 0
        assert isinstance(row["unit_price"], Decimal) and row["unit_price"] >= 0
        assert row["unit_price"] == row["unit_price"].quantize(Decimal("0.01"))
        assert row["supplier"] and row["supplier_article_number"] and row["product_group"] and row["subgroup"]
        assert row["image"] is None or (ARTICLE_IMAGES / row["image"]).is_file()
        assert row["eco_label"] in (None, *ECO_LABELS)
    assert {row["eco_label"] for row in articles} == {None, *ECO_LABELS}
    with_image = sum(row["image"] is not None for row in articles)
    assert 0 < with_image < len(articles)
    assert build_articles(random.Random(1)) == articles


def test_article_names_read_like_a_swedish_assortment() -> None:
    names_ = {row["name"] for row in build_articles(random.Random(1))}
    assert "Inkontinensskydd Slip Maxi Textilbaksida stl M, Vila" in names_
    assert any(name.startswith("Sondnäring Standard 500 ml") for name in names_)
    assert any(name.startswith("Blodsockerteststickor") for name in names_)
    assert any(name.startswith("Stomipåse Öppen Midi Beige 40 mm") for name in names_)


def test_reference_units_have_six_digit_numbers_and_payers_for_some_areas_only() -> None:
    numbers = [unit.customer_number for unit in reference.UNITS]
    assert len(numbers) == len(set(numbers)) >= 20
    assert all(re.fullmatch(r"\d{6}", number) for number in numbers)
    for unit in reference.UNITS:
        areas = [code for code, _ in unit.payers]
        assert areas and len(areas) == len(set(areas)) and set(areas) <= set(PRODUCT_AREA_CODES)
    assert any(len(unit.payers) < len(PRODUCT_AREA_CODES) for unit in reference.UNITS)
    payer_names = {payer for unit in reference.UNITS for _, payer in unit.payers}
    assert {"Region Skåne", "Lunds kommun"} <= payer_names
    for _number, _name, kind, unit_number in reference.WAREHOUSES:
        assert (kind == "central") == (unit_number is None)
        assert unit_number is None or unit_number in numbers


def test_demo_users_are_one_per_role_and_prescriber_has_a_single_unit_area() -> None:
    assert [user.role for user in reference.DEMO_USERS] == [role.value for role in Role]
    assert all(re.fullmatch(r"SE\d{10}-[A-Z0-9]{4}", user.hsa_id) for user in reference.DEMO_USERS)
    prescriber = next(user for user in reference.DEMO_USERS if user.role == Role.PRESCRIBER.value)
    units = {unit.customer_number: dict(unit.payers) for unit in reference.UNITS}
    paying_units = {area: [n for n in prescriber.unit_numbers if area in units[n]] for area in prescriber.product_areas}
    assert {"inkontinens", "nutrition", "stomi"} <= set(prescriber.product_areas)
    assert all(paying_units.values())
    assert sorted(len(found) for found in paying_units.values())[0] == 1
