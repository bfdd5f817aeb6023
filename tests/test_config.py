"""Settings: defaults, `TRAILKEEPER_*` parsing, every problem at once, overrides, documentation."""

from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner

from trailkeeper.cli.settings import settings as settings_command
from trailkeeper.config import Settings, describe_settings, env_name, load_settings
from trailkeeper.errors import ConfigError

FIELDS = [f.name for f in dataclasses.fields(Settings)]


def test_no_variables_give_the_defaults() -> None:
    settings = load_settings({})
    assert settings == Settings()
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.rate_limit_per_minute == 50  # Slack's Tier 3
    assert settings.default_page_limit == 100
    assert settings.database_url == ""
    assert settings.log_level == "info"
    assert settings.cursor_ttl_s == 30 * 86400


def test_variables_are_read_from_the_given_mapping_only() -> None:
    settings = load_settings(
        {
            "TRAILKEEPER_PORT": " 9000 ",
            "TRAILKEEPER_HOST": "0.0.0.0",
            "TRAILKEEPER_RATE_LIMIT_PER_MINUTE": "0",
            "TRAILKEEPER_DATABASE_URL": "postgresql://audit@db/trail",
            "TRAILKEEPER_LOG_LEVEL": "debug",
            "TRAILKEEPER_CURSOR_TTL_S": "60",
            "PORT": "1",
            "trailkeeper_port": "2",
        }
    )
    assert settings.port == 9000
    assert settings.host == "0.0.0.0"
    assert settings.rate_limit_per_minute == 0
    assert settings.database_url == "postgresql://audit@db/trail"
    assert settings.log_level == "debug"
    assert settings.cursor_ttl_s == 60


def test_environment_variable_names_are_the_prefixed_upper_case_field_names() -> None:
    assert env_name("max_event_bytes") == "TRAILKEEPER_MAX_EVENT_BYTES"


def test_every_setting_can_be_set_from_its_variable() -> None:
    defaults = Settings()
    environ = {}
    for name in FIELDS:
        default = getattr(defaults, name)
        if isinstance(default, int):
            environ[env_name(name)] = str(default + 1)
    settings = load_settings(environ)
    for name in FIELDS:
        default = getattr(defaults, name)
        if isinstance(default, int):
            assert getattr(settings, name) == default + 1, name


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            {
                "TRAILKEEPER_PORT": "eighty",
                "TRAILKEEPER_MAX_EVENT_BYTES": "",
                "TRAILKEEPER_RATE_LIMIT_PER_MINUTE": "-1",
                "TRAILKEEPER_DEFAULT_PAGE_LIMIT": "10000",
                "TRAILKEEPER_LOG_LEVEL": "loud",
                "TRAILKEEPER_DATABASE_URL": "mysql://db/trail",
            }
        )
    problems = caught.value.problems
    assert len(problems) == 6
    message = str(caught.value)
    for variable in (
        "TRAILKEEPER_PORT",
        "TRAILKEEPER_MAX_EVENT_BYTES",
        "TRAILKEEPER_RATE_LIMIT_PER_MINUTE",
        "TRAILKEEPER_DEFAULT_PAGE_LIMIT",
        "TRAILKEEPER_LOG_LEVEL",
        "TRAILKEEPER_DATABASE_URL",
    ):
        assert variable in message
    assert "TRAILKEEPER_PORT='eighty': expected int" in problems


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("port", "0"),
        ("port", "65536"),
        ("default_page_limit", "0"),
        ("max_same_second_extension", "-1"),
        ("cursor_ttl_s", "0"),
        ("max_request_bytes", "0"),
        ("max_batch_events", "-5"),
        ("max_event_bytes", "0"),
    ],
)
def test_out_of_range_numbers_are_config_errors(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({env_name(name): value})
    assert [p.split(":")[0] for p in caught.value.problems] == [env_name(name)]


@pytest.mark.parametrize("level", ["verbose", "trace", "", "critical"])
def test_an_unknown_log_level_is_a_config_error(level: str) -> None:
    with pytest.raises(ConfigError, match="TRAILKEEPER_LOG_LEVEL: must be debug, info"):
        load_settings({"TRAILKEEPER_LOG_LEVEL": level})


@pytest.mark.parametrize("url", ["mysql://db/x", "sqlite://relative.db", "db.sqlite", "http://x"])
def test_an_unknown_database_scheme_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match="TRAILKEEPER_DATABASE_URL"):
        load_settings({"TRAILKEEPER_DATABASE_URL": url})


@pytest.mark.parametrize(
    "url", ["sqlite:///var/lib/trail.db", "postgresql://u@h/db", "postgres://u@h/db"]
)
def test_known_database_schemes_are_accepted(url: str) -> None:
    assert load_settings({"TRAILKEEPER_DATABASE_URL": url}).resolved_database_url == url


def test_overrides_win_over_variables() -> None:
    settings = load_settings({"TRAILKEEPER_PORT": "9000"}, port=9100, log_level="warning")
    assert (settings.port, settings.log_level) == (9100, "warning")


def test_none_overrides_leave_the_variable_in_place() -> None:
    assert load_settings({"TRAILKEEPER_PORT": "9000"}, port=None).port == 9000


def test_overrides_are_validated_too() -> None:
    with pytest.raises(ConfigError, match="TRAILKEEPER_PORT"):
        load_settings({}, port=0)


def test_database_url_defaults_to_a_sqlite_file_in_the_data_directory() -> None:
    settings = load_settings({"TRAILKEEPER_DATA_DIR": "/srv/trail"})
    assert settings.resolved_database_url == "sqlite:////srv/trail/trailkeeper.db"


def test_an_explicit_database_url_is_used_as_is() -> None:
    settings = load_settings(
        {"TRAILKEEPER_DATA_DIR": "/srv/trail", "TRAILKEEPER_DATABASE_URL": "sqlite:///x.db"}
    )
    assert settings.resolved_database_url == "sqlite:///x.db"


def test_base_url_comes_from_host_and_port_unless_a_public_url_is_set() -> None:
    assert load_settings({}, host="10.0.0.1", port=8080).base_url == "http://10.0.0.1:8080"
    public = load_settings({"TRAILKEEPER_PUBLIC_URL": "https://audit.example.com/"})
    assert public.base_url == "https://audit.example.com"


def test_settings_are_frozen() -> None:
    settings = load_settings({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.port = 1  # type: ignore[misc]


def test_every_setting_has_help_text() -> None:
    for f in dataclasses.fields(Settings):
        assert str(f.metadata.get("help", "")).strip(), f"setting {f.name} is undocumented"


def test_describe_settings_lists_every_setting_in_declaration_order() -> None:
    rows = describe_settings()
    assert [row[0] for row in rows] == FIELDS
    defaults = Settings()
    for name, variable, default, help_text in rows:
        assert variable == env_name(name)
        assert default == repr(getattr(defaults, name))
        assert help_text.strip()


def test_the_settings_command_prints_every_setting() -> None:
    result = CliRunner().invoke(settings_command, [], env={"TRAILKEEPER_PORT": "9123"})
    assert result.exit_code == 0, result.output
    for name, variable, _default, help_text in describe_settings():
        assert variable in result.output, name
        assert help_text in result.output, name
    assert "current: 9123" in result.output
