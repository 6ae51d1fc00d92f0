"""Demo patients: unique valid personnummer, Swedish names, Skåne addresses; no Flask."""
from __future__ import annotations

import random
from array import array
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import accumulate
from typing import Any

from app.demo import names
from core.models.patients import NUTRITION_FULL
from core.privacy.personnummer import COORDINATION_DAY_OFFSET, check_digit

FIRST_BIRTH_YEAR, LAST_BIRTH_YEAR = 1920, 2015
COORDINATION_SHARE = 0.02  # samordningsnummer among the patients
FEMALE_SHARE = 0.55  # older patients are more often women

# A day and sex hold 500 birth numbers (odd for men, even for women, 000 never used).
_SLOTS_PER_KEY = 500
# Steps coprime with 500, so offset + step * k (mod 500) visits every slot once.
_STEPS = (1, 3, 7, 9, 11, 13, 17, 19, 21, 23, 27, 29, 31, 33, 37, 39, 41, 43, 47, 49)


def _birth_year_weight(year: int) -> float:
    """Return how common a birth year is among patients: incontinence, nutrition and stoma care skew old."""
    if year < 1930:
        return 2.0
    if year < 1950:
        return 5.0
    if year < 1960:
        return 4.0
    if year < 1980:
        return 2.0
    if year < 2000:
        return 1.0
    return 0.7


class PersonnummerSource:
    """Hand out unique, valid personnummer without remembering the ones already given.

    Each (birth date, sex, samordningsnummer or not) key walks its 500 birth
    numbers in a key-specific order, so only a counter per key is kept: about
    280 kB for 1920–2015, however many numbers are drawn.
    """

    def __init__(self, rng: random.Random, coordination_share: float = COORDINATION_SHARE) -> None:
        self._rng = rng
        self._coordination_share = coordination_share
        first = date(FIRST_BIRTH_YEAR, 1, 1)
        days = (date(LAST_BIRTH_YEAR, 12, 31) - first).days + 1
        self._dates = [(first + timedelta(days=i)).strftime("%Y%m%d") for i in range(days)]
        self._year_starts: list[int] = []
        self._year_lengths: list[int] = []
        index = 0
        for year in range(FIRST_BIRTH_YEAR, LAST_BIRTH_YEAR + 1):
            length = (date(year + 1, 1, 1) - date(year, 1, 1)).days
            self._year_starts.append(index)
            self._year_lengths.append(length)
            index += length
        weights = [_birth_year_weight(y) * n for y, n in zip(range(FIRST_BIRTH_YEAR, LAST_BIRTH_YEAR + 1),
                                                              self._year_lengths, strict=True)]
        self._cumulative = list(accumulate(weights))
        self._taken = array("H", bytes(2 * days * 4))
        self._salt = rng.randrange(_SLOTS_PER_KEY)

    def next(self, female: bool) -> str:
        """Return a fresh personnummer (or, now and then, samordningsnummer) for a person of that sex."""
        rng = self._rng
        while True:
            year_index = bisect(self._cumulative, rng.random() * self._cumulative[-1])
            day_index = self._year_starts[year_index] + rng.randrange(self._year_lengths[year_index])
            coordination = rng.random() < self._coordination_share
            key = day_index * 4 + coordination * 2 + female
            serial = self._take(key, female)
            if serial is not None:
                break
        yyyymmdd = self._dates[day_index]
        if coordination:
            yyyymmdd = f"{yyyymmdd[:6]}{int(yyyymmdd[6:]) + COORDINATION_DAY_OFFSET}"
        nine = f"{yyyymmdd[2:]}{serial:03d}"
        return f"{yyyymmdd}{serial:03d}{check_digit(nine)}"

    def _take(self, key: int, female: bool) -> int | None:
        """Return the key's next unused birth number, or None when the key is used up."""
        taken = self._taken
        offset = (key * 7919 + self._salt) % _SLOTS_PER_KEY
        step = _STEPS[key % len(_STEPS)]
        while taken[key] < _SLOTS_PER_KEY:
            slot = (offset + step * taken[key]) % _SLOTS_PER_KEY
            taken[key] += 1
            serial = (slot // 5) * 10 + (slot % 5) * 2 + (0 if female else 1)
            if serial:
                return serial
        return None


@dataclass
class PatientChunk:
    """Rows for one insert round; contact persons name their patient by personnummer."""

    patients: list[dict[str, Any]] = field(default_factory=list)
    contact_persons: list[dict[str, Any]] = field(default_factory=list)


_ASCII = str.maketrans({"å": "a", "ä": "a", "ö": "o", "é": "e", "ü": "u", " ": "."})
_TOWN_WEIGHTS = list(accumulate(weight for _, _, weight in names.TOWNS))


def _cohort(birth_year: int) -> str:
    if birth_year < 1950:
        return "old"
    return "middle" if birth_year < 1980 else "young"


def _younger(cohort: str) -> str:
    return {"old": "middle", "middle": "young", "young": "young"}[cohort]


class PatientFactory:
    """Build patient rows one at a time from a seeded random source."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self._rng = rng
        self._now = now
        self._personnummer = PersonnummerSource(rng)

    def _town(self) -> tuple[str, str]:
        """Return a city and a postal code "NNN NN" in it, weighted by population."""
        rng = self._rng
        city, prefixes, _ = names.TOWNS[bisect(_TOWN_WEIGHTS, rng.random() * _TOWN_WEIGHTS[-1])]
        return city, f"{rng.choice(prefixes)} {rng.randrange(30, 100)}"

    def _street(self) -> str:
        rng = self._rng
        street = f"{rng.choice(names.STREET_NAMES)} {rng.randrange(1, 120)}"
        roll = rng.random()
        if roll < 0.08:
            street += rng.choice("ABC")
        elif roll < 0.25:
            # Flats carry the four-digit lägenhetsnummer of the population register.
            street += f" lgh {rng.randrange(10, 15)}{rng.randrange(1, 10):02d}"
        return street

    def _person_name(self, female: bool, cohort: str, last_name: str | None = None) -> tuple[str, str]:
        rng = self._rng
        first = rng.choice((names.FEMALE_FIRST_NAMES if female else names.MALE_FIRST_NAMES)[cohort])
        return first, last_name or rng.choice(names.LAST_NAMES)

    def patient(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Return one patient row and its contact-person rows."""
        rng = self._rng
        female = rng.random() < FEMALE_SHARE
        personnummer = self._personnummer.next(female)
        birth_year = int(personnummer[:4])
        age = self._now.year - birth_year
        first_name, last_name = self._person_name(female, _cohort(birth_year))
        city, postal_code = self._town()
        row: dict[str, Any] = {
            "personnummer": personnummer,
            "first_name": first_name,
            "last_name": last_name,
            "registered_street": self._street(),
            "registered_postal_code": postal_code,
            "registered_city": city,
            # Demo addresses count as already fetched, so opening a patient needs no register call.
            "registered_address_fetched_at": self._now,
            "delivery_street": None,
            "delivery_postal_code": None,
            "delivery_city": None,
            "nutrition_category": None,
            "special_housing": rng.random() < (0.08 if age >= 80 else 0.01),
            "created_at": self._now,
        }
        if row["special_housing"]:
            home = rng.choice(names.CARE_HOMES)
            row["delivery_street"] = f"{home}, {rng.choice(names.STREET_NAMES)} {rng.randrange(1, 40)}"
            row["delivery_city"] = city
            row["delivery_postal_code"] = f"{postal_code[:3]} {rng.randrange(30, 100)}"
        else:
            if rng.random() < 0.06:
                other_city, other_postal = self._town()
                row["delivery_street"] = f"c/o {rng.choice(names.LAST_NAMES)}, {self._street()}"
                row["delivery_city"], row["delivery_postal_code"] = other_city, other_postal
            # Residents of special housing pay nothing, so only others get a nutrition category.
            if rng.random() < 0.05:
                row["nutrition_category"] = NUTRITION_FULL
        return row, self._contact_persons(row, female, age)

    def _contact_persons(self, patient: dict[str, Any], female: bool, age: int) -> list[dict[str, Any]]:
        rng = self._rng
        child = age < 18
        share = 0.6 if child else (0.35 if age >= 80 else 0.08)
        if rng.random() >= share:
            return []
        count = 2 if rng.random() < 0.25 else 1
        return [self._contact_person(patient, female, child) for _ in range(count)]

    def _contact_person(self, patient: dict[str, Any], female: bool, child: bool) -> dict[str, Any]:
        rng = self._rng
        cohort = _cohort(int(patient["personnummer"][:4]))
        if child:
            relation = rng.choice(names.CHILD_RELATIONS)
            contact_female = relation == "Mamma" or (relation != "Pappa" and rng.random() < 0.5)
            contact_cohort, same_name = "middle", 0.8
        elif rng.random() < 0.3:
            relation = rng.choice(names.PARTNER_RELATION["female" if female else "male"])
            contact_female, contact_cohort, same_name = not female, cohort, 0.6
        else:
            relation = rng.choice(names.ADULT_RELATIONS)
            contact_female = relation in ("Dotter", "Syster") or (
                relation not in ("Son", "Bror") and rng.random() < 0.5)
            contact_cohort = cohort if relation in ("Syster", "Bror", "Granne") else _younger(cohort)
            same_name = 0.6 if relation in ("Dotter", "Son", "Syster", "Bror") else 0.0
        last_name = patient["last_name"] if rng.random() < same_name else None
        first, last = self._person_name(contact_female, contact_cohort, last_name)
        email = f"{first}.{last}@example.com".lower().translate(_ASCII) if rng.random() < 0.4 else None
        return {
            "personnummer": patient["personnummer"],
            "name": f"{first} {last}",
            "relation": relation,
            "phone": f"{names.FICTIONAL_MOBILE_PREFIX} {rng.choice(names.FICTIONAL_MOBILE_RANGE):02d}",
            "email": email,
        }


def generate_patients(rng: random.Random, count: int, now: datetime, chunk_size: int = 10_000,
                      factory: PatientFactory | None = None) -> Iterator[PatientChunk]:
    """Yield `count` patients in chunks of at most `chunk_size`, holding only one chunk in memory."""
    factory = factory or PatientFactory(rng, now)
    remaining = count
    while remaining > 0:
        chunk = PatientChunk()
        for _ in range(min(chunk_size, remaining)):
            row, contacts = factory.patient()
            chunk.patients.append(row)
            chunk.contact_persons.extend(contacts)
        remaining -= len(chunk.patients)
        yield chunk
