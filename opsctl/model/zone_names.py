"""The time zone somebody meant when they wrote a city or a country instead of a zone.

The IANA database names a zone after one city of it (``Asia/Kolkata``), so people write
their own city (``Asia/Bangalore``) or country (``India``), and the nearest string is then
a wrong zone (``Asia/Singapore``). :func:`suggest_zone` looks the name up in the places
that ship with opsctl (``zone_places.tsv`` beside this module: GeoNames' countries and its
cities of 100,000 people or more, with their other names and zones; written by
``scripts/zone_places.py``), and only falls back to the nearest zone name when it is no
place it knows.

Only an unknown zone gets here, so the file (about half a megabyte) is read on that path
alone, once per process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

DATA = "zone_places.tsv"
"""The places file, package data of :mod:`opsctl.model`."""


def place_key(text: str) -> str:
    """A place name as it is compared: case, accents, underscores and runs of spaces aside
    (``San_Francisco``, ``münchen`` and ``Munchen`` are the keys of the names people mean)."""
    import unicodedata

    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[\s_]+", " ", text).strip().casefold()


@dataclass(frozen=True)
class Country:
    iso: str
    iso3: str
    name: str
    zones: tuple[str, ...]
    """Its zones, most people first; one alone when it holds nearly everybody."""


@dataclass(frozen=True)
class City:
    name: str
    country: str
    """ISO code of its country."""
    population: int
    zone: str


@dataclass
class Places:
    """The places file, indexed by :func:`place_key`. Cities are kept as their rows and read
    when asked for: the file is indexed in a few tens of milliseconds."""

    countries: dict[str, Country] = field(default_factory=dict)
    """By ISO code."""
    country_keys: dict[str, Country] = field(default_factory=dict)
    """By the key of its name, of its ISO code and of its ISO3 code."""
    city_rows: dict[str, list[str]] = field(default_factory=dict)
    """The rows of the cities by the key of each of their names."""

    def cities(self, key: str) -> list[City]:
        """The cities one of whose names has the key ``key``."""
        out = []
        for row in self.city_rows.get(key, ()):
            _, iso, population, zone, name, _ = row.split("\t")
            out.append(City(name, iso, int(population), zone))
        return out


def read_places(text: str) -> Places:
    """The places of a file in the format of ``zone_places.tsv`` (its header says what each row holds)."""
    places = Places()
    index = places.city_rows
    for line in text.splitlines():
        if line.startswith("city\t"):
            for key in line.rpartition("\t")[2].split("|"):
                index.setdefault(key, []).append(line)
        elif line.startswith("country\t"):
            _, iso, iso3, name, zones = line.split("\t")
            country = Country(iso, iso3, name, tuple(zones.split(",")))
            places.countries[iso] = country
            for key in (place_key(name), iso.casefold(), iso3.casefold()):
                places.country_keys.setdefault(key, country)
        elif line and not line.startswith("#"):
            raise ValueError(f"{DATA}: unknown row kind {line.partition(chr(9))[0]!r}")
    return places


@cache
def _places() -> Places:
    from importlib.resources import files

    return read_places(files(__package__ or "opsctl.model").joinpath(DATA).read_text("utf-8"))


def _nearest(name: str, zones: frozenset[str]) -> str | None:
    """The closest zone name; among the zones of its region when it names one (faster, and
    ``Europe/Berln`` means a European zone)."""
    import difflib

    region = name.partition("/")[0] + "/"
    nearby = [zone for zone in zones if zone.startswith(region)] if "/" in name else []
    match = difflib.get_close_matches(name, nearby or zones, n=1)
    return match[0] if match else None


@cache
def _zones() -> frozenset[str]:
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())  # a walk of the zone folder: 10 ms each time


@cache
def suggest_zone(name: str) -> str:
    """`` (did you mean 'Asia/Kolkata', the zone of Bengaluru, India?)`` and the like, or ``""``."""
    zones = _zones()
    same = next((zone for zone in zones if zone.casefold() == name.casefold()), None)
    if same is not None:
        return f" (did you mean {same!r}?)"
    region, _, place = name.strip().rpartition("/")
    key = place_key(place)
    if key:
        try:
            places = _places()
        except (OSError, ValueError):  # no place data (a broken install): the nearest string still helps
            places = Places()
        country = places.country_keys.get(key)
        found = [] if country else [city for city in places.cities(key) if city.zone in zones]
        if found:
            in_region = [city for city in found if region and city.zone.startswith(region.rstrip("/") + "/")]
            city = max(in_region or found, key=lambda c: c.population)
            where = places.countries[city.country].name if city.country in places.countries else city.country
            return f" (did you mean {city.zone!r}, the zone of {city.name}, {where}?)"
        if country is not None:
            country_zones = [zone for zone in country.zones if zone in zones]
            if len(country_zones) == 1:
                return f" (did you mean {country_zones[0]!r}, the zone of {country.name}?)"
            if country_zones:
                listed = ", ".join(repr(zone) for zone in country_zones[:4]) + (", …" if len(country_zones) > 4 else "")
                return f" ({country.name} has several zones: {listed})"
    nearest = _nearest(name, zones)
    return f" (did you mean {nearest!r}?)" if nearest else ""
