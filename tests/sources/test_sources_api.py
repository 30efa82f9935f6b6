from __future__ import annotations

import pytest

import a1rt.sources as sources
from a1rt.config import load_settings
from a1rt.errors import A1rtError
from a1rt.sources import (
    PROVIDERS,
    ApiKey,
    SourceConfig,
    SourceError,
    SourceTimeout,
    config_from_settings,
    provider_defaults,
)

ERRORS = [
    getattr(sources, name)
    for name in sources.__all__
    if isinstance(getattr(sources, name), type) and issubclass(getattr(sources, name), Exception)
]


def test_sources_api_every_public_name_exists() -> None:
    assert [name for name in sources.__all__ if not hasattr(sources, name)] == []


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.__name__)
def test_sources_api_errors_share_one_root_and_say_when_raised(error: type[Exception]) -> None:
    assert issubclass(error, SourceError) and issubclass(error, A1rtError)
    assert error.__doc__ and error.__doc__.startswith(("Raised", "Root"))


def test_sources_api_timeout_is_also_a_timeout_error() -> None:
    assert issubclass(SourceTimeout, TimeoutError)


def test_sources_api_key_repr_hides_the_value() -> None:
    key = ApiKey("s3cret", "query", "apiKey")
    assert "s3cret" not in repr(key)
    assert "s3cret" not in repr(SourceConfig(source="x", base_url="http://h", api_key=key))


def test_sources_api_provider_defaults_stay_under_known_limits() -> None:
    assert PROVIDERS["odds_api"].rate < 30  # documented 30/s, with 429s near it
    assert PROVIDERS["sportradar"].rate <= 1  # trial keys: 1 request per second
    assert provider_defaults("no_such_provider").rate == 1.0


def test_sources_api_config_from_settings_places_each_key() -> None:
    settings = load_settings(
        {"A1RT_ODDS_API_KEY": "odds-key", "A1RT_SPORTRADAR_API_KEY": "sr-key",
         "A1RT_ESPN_BASE_URL": "http://127.0.0.1:9/espn"}
    )  # fmt: skip
    odds = config_from_settings(settings, "odds_api")
    assert odds.base_url == "https://api.the-odds-api.com"
    assert odds.api_key == ApiKey("odds-key", "query", "apiKey")
    assert odds.track_quota
    sportradar = config_from_settings(settings, "sportradar")
    assert sportradar.api_key == ApiKey("sr-key", "header", "x-api-key")
    espn = config_from_settings(settings, "espn", cache_ttl=5.0)
    assert (espn.base_url, espn.api_key, espn.cache_ttl) == ("http://127.0.0.1:9/espn", None, 5.0)


def test_sources_api_config_from_settings_refuses_a_non_http_source() -> None:
    with pytest.raises(ValueError, match="simulated"):
        config_from_settings(load_settings({}), "simulated")


def test_sources_api_missing_key_means_no_key() -> None:
    assert SourceConfig.for_provider("odds_api", "http://h").api_key is None


@pytest.mark.parametrize(
    "overrides",
    [{"base_url": "ftp://h"}, {"cache_ttl": -1.0}, {"max_connections": 0}, {"max_body_bytes": 0}],
)
def test_sources_api_config_rejects_bad_settings(overrides: dict[str, object]) -> None:
    settings: dict[str, object] = {"base_url": "https://site.api.espn.com", **overrides}
    with pytest.raises(ValueError):
        SourceConfig(source="espn", **settings)  # type: ignore[arg-type]
