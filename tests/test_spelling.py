"""Did-you-mean: the choice a person meant, and the zone of a city or a country that is no zone name."""

from __future__ import annotations

import pytest

from opsctl.model.spelling import check_timezone, did_you_mean


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Asia/Bangalore", "unknown time zone 'Asia/Bangalore' (did you mean 'Asia/Kolkata', the zone of Bengaluru, India?)"),
        ("Bombay", "unknown time zone 'Bombay' (did you mean 'Asia/Kolkata', the zone of Mumbai, India?)"),
        (
            "America/San_Francisco",
            "unknown time zone 'America/San_Francisco'"
            " (did you mean 'America/Los_Angeles', the zone of San Francisco, United States?)",
        ),
        ("Europe/Munich", "unknown time zone 'Europe/Munich' (did you mean 'Europe/Berlin', the zone of Munich, Germany?)"),
        ("India", "unknown time zone 'India' (did you mean 'Asia/Kolkata', the zone of India?)"),
        ("Germany", "unknown time zone 'Germany' (did you mean 'Europe/Berlin', the zone of Germany?)"),
        ("Europe/Berln", "unknown time zone 'Europe/Berln' (did you mean 'Europe/Berlin'?)"),
        ("europe/berlin", "unknown time zone 'europe/berlin' (did you mean 'Europe/Berlin'?)"),
        ("Xyzzy/Nowhere", "unknown time zone 'Xyzzy/Nowhere'"),
    ],
)
def test_a_city_or_country_gets_its_zone(name: str, message: str) -> None:
    assert check_timezone(name) == message


def test_a_country_of_several_zones_lists_them_most_people_first() -> None:
    message = check_timezone("USA")
    assert message is not None
    assert message.startswith("unknown time zone 'USA' (United States has several zones: 'America/New_York', 'America/Chicago'")


def test_zone_names_pass() -> None:
    assert check_timezone("Asia/Kolkata") is None
    assert check_timezone("Asia/Calcutta") is None  # the old name is still in the database


@pytest.mark.parametrize(
    ("word", "choices", "suggestion"),
    [
        ("de", ["bi-services", "data-eng", "infra-data-eng", "mlops", "platform"], " (did you mean 'data-eng'?)"),
        ("data-engg", ["data-eng", "mlops"], " (did you mean 'data-eng'?)"),
        ("MLOPS", ["data-eng", "mlops"], " (did you mean 'mlops'?)"),
        ("plat", ["data-eng", "platform"], " (did you mean 'platform'?)"),
        ("infra", ["data-eng", "infra-data-eng"], " (did you mean 'infra-data-eng'?)"),
        ("eng", ["data-eng", "infra-data-eng"], ""),  # two teams end so: no guess
        ("x", ["data-eng"], ""),
    ],
)
def test_did_you_mean(word: str, choices: list[str], suggestion: str) -> None:
    assert did_you_mean(word, choices) == suggestion
