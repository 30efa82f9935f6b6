from __future__ import annotations

from pathlib import Path

import pytest

from a1rt.config import Settings, load_settings
from a1rt.errors import ConfigError


def test_config_defaults_need_no_environment() -> None:
    settings = load_settings({})
    assert settings == Settings()
    assert settings.sources == ("simulated",)
    assert settings.database_url is None and settings.redis_url is None


def test_config_reads_a1rt_variables_with_types() -> None:
    settings = load_settings(
        {
            "A1RT_PORT": "9001",
            "A1RT_SOURCES": "simulated, espn",
            "A1RT_DATA_DIR": "/srv/a1",
            "A1RT_SIM_SPEED": "120.5",
            "A1RT_SIM_START": "1764633600",
            "A1RT_CORS_ORIGINS": "http://a.example,http://b.example",
        }
    )
    assert settings.port == 9001
    assert settings.sources == ("simulated", "espn")
    assert settings.data_dir == Path("/srv/a1")
    assert settings.sim_speed == 120.5 and settings.sim_start == 1764633600.0
    assert settings.cors_origins == ("http://a.example", "http://b.example")


def test_config_accepts_legacy_a1betting_names_but_prefers_a1rt() -> None:
    legacy = load_settings({"A1BETTING_DATABASE_URL": "postgresql://old/db"})
    assert legacy.database_url == "postgresql://old/db"
    both = load_settings({"A1BETTING_REDIS_URL": "redis://old", "A1RT_REDIS_URL": "redis://new"})
    assert both.redis_url == "redis://new"
    assert load_settings({"A1BETTING_PORT": "1"}).port == 8000  # not a legacy name


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"A1RT_PORT": "eighty"}, ["A1RT_PORT", "int"]),
        ({"A1RT_PORT": "70000"}, ["A1RT_PORT", "65535"]),
        ({"A1RT_LOG_LEVEL": "loud"}, ["A1RT_LOG_LEVEL", "debug, info, warning, error"]),
        ({"A1RT_SOURCES": "simulated,fax"}, ["A1RT_SOURCES", "fax", "odds_api"]),
        ({"A1RT_SIM_SPEED": "0"}, ["A1RT_SIM_SPEED", "> 0"]),
        ({"A1BETTING_ENVIRONMENT": "moon"}, ["A1BETTING_ENVIRONMENT", "production"]),
    ],
)
def test_config_bad_value_names_the_variable_and_what_was_expected(
    env: dict[str, str], names: list[str]
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(env)
    message = str(raised.value)
    assert "\n" not in message
    for name in names:
        assert name in message
