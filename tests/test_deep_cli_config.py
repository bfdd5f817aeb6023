"""Every command's parsing mistakes (unknown options, missing required ones, values of the
wrong type, paths that do not exist) exit 2 with click's one clear message and no traceback,
before anything touches a database; and every validated TRAILKEEPER_* setting names its
variable and its rule when out of bounds, accepting the bound itself."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from trailkeeper.cli import cli
from trailkeeper.config import Settings, env_name, load_settings
from trailkeeper.errors import ConfigError


def _leaves(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _leaves(command, (*prefix, name))
        else:
            yield (*prefix, name)


def command_at(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


LEAVES = list(_leaves(cli))
NAMES = [" ".join(p) for p in LEAVES]


def _options(
    kind: type | tuple[type, ...],
) -> list[tuple[tuple[str, ...], click.Option]]:
    found = []
    for path in LEAVES:
        for param in command_at(path).params:
            if isinstance(param, click.Option) and isinstance(param.type, kind):
                found.append((path, param))
    return found


NUMERIC = _options((click.types.IntParamType, click.types.FloatParamType))
CHOICES = _options(click.Choice)
EXISTING_PATHS = [
    (path, option)
    for path, option in _options(click.Path)
    if isinstance(option.type, click.Path) and option.type.exists
]
REQUIRED = [
    (path, [p for p in command_at(path).params if p.required])
    for path in LEAVES
    if any(p.required for p in command_at(path).params)
]


@pytest.fixture
def run(tmp_path: Path) -> tuple[Path, CliRunner]:
    env = {k: None for k in os.environ if k.startswith("TRAILKEEPER_")}
    database = tmp_path / "never.db"
    runner = CliRunner(env={**env, "TRAILKEEPER_DATABASE_URL": f"sqlite:///{database}"})
    return database, runner


def invoke(run: tuple[Path, CliRunner], *args: str) -> Result:
    return run[1].invoke(cli, list(args), prog_name="trailkeeper")


def assert_usage_error(result: Result, path: tuple[str, ...], *fragments: str) -> None:
    """Exit 2, click's usage line for the command, `Error:`, no traceback."""
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith(f"Usage: trailkeeper {' '.join(path)}")
    assert "\nError: " in result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


def test_the_tree_has_the_documented_commands() -> None:
    for expected in ("verify", "export", "logging pause", "retention set", "keys rotate"):
        assert expected in NAMES
    for found in (NUMERIC, CHOICES, EXISTING_PATHS, REQUIRED):
        assert found


@pytest.mark.parametrize("path", LEAVES, ids=NAMES)
def test_an_unknown_option_is_a_usage_error_for_every_command(
    run: tuple[Path, CliRunner], path: tuple[str, ...]
) -> None:
    result = invoke(run, *path, "--no-such-option")
    assert_usage_error(result, path, "No such option '--no-such-option'")
    assert not run[0].exists()  # refused before any database was opened


FREE = [
    p
    for p in LEAVES
    if not any(isinstance(q, click.Argument) or q.required for q in command_at(p).params)
]


@pytest.mark.parametrize("path", FREE, ids=[" ".join(p) for p in FREE])
def test_a_stray_argument_is_a_usage_error_for_every_command_without_parameters_to_give(
    run: tuple[Path, CliRunner], path: tuple[str, ...]
) -> None:
    assert_usage_error(invoke(run, *path, "stray"), path, "Got unexpected extra argument")


@pytest.mark.parametrize(("path", "required"), REQUIRED, ids=[" ".join(p) for p, _ in REQUIRED])
def test_a_missing_required_parameter_is_named(
    run: tuple[Path, CliRunner], path: tuple[str, ...], required: list[click.Parameter]
) -> None:
    result = invoke(run, *path)
    assert_usage_error(result, path, "Missing")
    named = [p.opts[0] if isinstance(p, click.Option) else p.human_readable_name for p in required]
    assert any(name in result.stderr or name.upper() in result.stderr for name in named)
    assert not run[0].exists()


@pytest.mark.parametrize(
    ("path", "option"), NUMERIC, ids=[f"{' '.join(p)} {o.opts[0]}" for p, o in NUMERIC]
)
def test_a_non_number_for_a_number_option_is_refused(
    run: tuple[Path, CliRunner], path: tuple[str, ...], option: click.Option
) -> None:
    result = invoke(run, *path, option.opts[0], "lots")
    assert_usage_error(result, path, f"Invalid value for '{option.opts[0]}'", "'lots'")


def _below(option: click.Option) -> str | None:
    low = getattr(option.type, "min", None)
    return None if low is None else str(low - 1)


RANGED = [(p, o) for p, o in NUMERIC if _below(o) is not None]


@pytest.mark.parametrize(
    ("path", "option"), RANGED, ids=[f"{' '.join(p)} {o.opts[0]}" for p, o in RANGED]
)
def test_a_number_below_its_range_is_refused_with_the_range(
    run: tuple[Path, CliRunner], path: tuple[str, ...], option: click.Option
) -> None:
    result = invoke(run, *path, option.opts[0], str(_below(option)))
    low = getattr(option.type, "min", None)
    assert_usage_error(result, path, f"Invalid value for '{option.opts[0]}'", "not in the range")
    assert f"{low}<=x" in result.stderr or f"x>={low}" in result.stderr


@pytest.mark.parametrize(
    ("path", "option"), CHOICES, ids=[f"{' '.join(p)} {o.opts[0]}" for p, o in CHOICES]
)
def test_a_value_outside_a_choice_lists_the_choices(
    run: tuple[Path, CliRunner], path: tuple[str, ...], option: click.Option
) -> None:
    assert isinstance(option.type, click.Choice)
    result = invoke(run, *path, option.opts[0], "no-such-choice")
    assert_usage_error(result, path, f"Invalid value for '{option.opts[0]}'")
    assert all(repr(str(choice)) in result.stderr for choice in option.type.choices)


@pytest.mark.parametrize(
    ("path", "option"),
    EXISTING_PATHS,
    ids=[f"{' '.join(p)} {o.opts[0]}" for p, o in EXISTING_PATHS],
)
def test_a_path_that_must_exist_and_does_not_is_refused(
    run: tuple[Path, CliRunner], path: tuple[str, ...], option: click.Option, tmp_path: Path
) -> None:
    absent = tmp_path / "absent"
    result = invoke(run, *path, option.opts[0], str(absent))
    assert_usage_error(result, path, "does not exist")


def test_retention_set_needs_exactly_one_policy(run: tuple[Path, CliRunner]) -> None:
    path = ("retention", "set")
    both = invoke(run, *path, "--org", "E0X", "--keep-days", "5", "--forever")
    assert_usage_error(both, path, "give exactly one of --keep-days N and --forever")
    neither = invoke(run, *path, "--org", "E0X")
    assert_usage_error(neither, path, "give exactly one of --keep-days N and --forever")


@pytest.mark.parametrize(
    "args",
    [
        ("logging", "pause", "--org", "E0NOPE"),
        ("logging", "resume", "--org", "E0NOPE"),
        ("logging", "status", "--org", "E0NOPE"),
    ],
    ids=" ".join,
)
def test_an_unknown_organization_is_one_line_and_exit_1(
    run: tuple[Path, CliRunner], args: tuple[str, ...]
) -> None:
    result = invoke(run, *args)
    assert result.exit_code == 1
    assert result.stderr == "error: no organization E0NOPE\n"
    assert result.stdout == ""


def test_logging_status_of_an_empty_store_prints_nothing(run: tuple[Path, CliRunner]) -> None:
    result = invoke(run, "logging", "status")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_a_checkpoint_of_an_unknown_organization_is_a_clean_error(
    run: tuple[Path, CliRunner],
) -> None:
    result = invoke(run, "checkpoint", "--org", "E0NOPE")
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 1)
    assert "Traceback" not in result.stderr


def test_monitor_without_a_token_is_a_usage_error(run: tuple[Path, CliRunner]) -> None:
    result = invoke(run, "monitor", "--url", "http://127.0.0.1:9", "--count", "1")
    assert_usage_error(result, ("monitor",), "give --token or --token-file with --url")


def test_online_verify_refuses_to_run_without_a_state_file(run: tuple[Path, CliRunner]) -> None:
    result = invoke(run, "verify", "--url", "http://127.0.0.1:9", "--token", "x", "--no-state")
    assert_usage_error(result, ("verify",), "online verification needs a state file")


def test_a_bad_setting_stops_a_command_before_it_opens_the_database(
    run: tuple[Path, CliRunner],
) -> None:
    result = run[1].invoke(cli, ["org", "list"], env={"TRAILKEEPER_DETECT": "maybe"})
    assert result.exit_code == 2
    assert result.stderr == "error: invalid settings:\n  TRAILKEEPER_DETECT: must be on or off\n"
    assert not run[0].exists()


# --- settings: every validated variable, its message and its bounds -----------------------------

# (field, a value just outside its rule, the value at the bound, the message)
RULES: list[tuple[str, str, str, str]] = [
    ("port", "65536", "65535", "must be between 1 and 65535"),
    ("rate_limit_per_minute", "-1", "0", "must be 0 (off) or positive"),
    ("read_threads", "-1", "0", "must be between 0 (auto) and 256"),
    ("default_page_limit", "10000", "9999", "must be between 1 and 9999"),
    ("max_same_second_extension", "-1", "0", "must not be negative"),
    ("cursor_ttl_s", "0", "1", "must be positive"),
    ("max_request_bytes", "0", "1", "must be positive"),
    ("max_batch_events", "0", "1", "must be positive"),
    ("max_event_bytes", "0", "1", "must be positive"),
    ("log_level", "INFO", "error", "must be debug, info, warning or error"),
    ("redis_url", "http://r:6379", "unix:///run/redis.sock", "must start with redis://"),
    ("service_name", "tk.example/", "tk.example/x", "must be a non-empty name without spaces"),
    ("checkpoint_interval_s", "-1", "0", "must be 0 (off) or positive"),
    ("cookie_secure", "yes", "never", "must be auto, always or never"),
    ("session_ttl_s", "0", "1", "must be positive"),
    ("auth_code_ttl_s", "3601", "3600", "must be between 1 and 3600"),
    ("signin_window_s", "86401", "86400", "must be between 1 and 86400"),
    ("signin_max_failures", "0", "1", "must be positive"),
    ("signin_max_failures_per_ip", "0", "1", "must be positive"),
    ("console_search_window", "99", "100", "must be between 100 and 10000000"),
    ("detect", "ON", "off", "must be on or off"),
    ("detect_warmup_days", "366", "365", "must be between 0 and 365"),
    ("detect_reload_check_s", "0", "1", "must be positive"),
    ("detect_max_tor_age_h", "0", "1", "must be positive"),
    ("detect_max_geo_age_days", "0", "1", "must be positive"),
    ("detect_signal_retention_s", "0", "1", "must be positive"),
    ("detect_snapshot_interval_s", "0", "1", "must be positive"),
    ("database_url", "sqlite:/x.db", "postgres://u@h/db", "must start with sqlite:/// or"),
]


@pytest.mark.parametrize(("name", "bad", "good", "message"), RULES, ids=[r[0] for r in RULES])
def test_each_rule_names_its_variable_and_accepts_its_bound(
    name: str, bad: str, good: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({env_name(name): bad})
    [problem] = caught.value.problems
    assert problem.startswith(f"{env_name(name)}: {message}")
    loaded = getattr(load_settings({env_name(name): good}), name)
    assert str(loaded) == good


def test_the_rules_above_cover_every_validated_setting() -> None:
    from trailkeeper.config import _VALIDATORS

    assert {r[0] for r in RULES} == set(_VALIDATORS)


INT_FIELDS = [f.name for f in dataclasses.fields(Settings) if isinstance(f.default, int)]


@pytest.mark.parametrize("name", INT_FIELDS)
@pytest.mark.parametrize("raw", ["1.5", "ten", "", "0x10"])
def test_every_integer_setting_says_it_expected_an_int(name: str, raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({env_name(name): raw})
    assert caught.value.problems == [f"{env_name(name)}={raw!r}: expected int"]


@pytest.mark.parametrize("name", INT_FIELDS)
def test_integer_settings_tolerate_surrounding_whitespace(name: str) -> None:
    value = getattr(Settings(), name)
    assert getattr(load_settings({env_name(name): f"  {value}\n"}), name) == value


@pytest.mark.parametrize("value", ["tk.example", "audit.example.com/tk", "a"])
def test_good_service_names_are_accepted(value: str) -> None:
    assert load_settings({"TRAILKEEPER_SERVICE_NAME": value}).service_name == value


@pytest.mark.parametrize("value", ["", "tk example", "tk+example", "tk\texample", "tk\x01"])
def test_service_names_a_checkpoint_could_not_carry_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="TRAILKEEPER_SERVICE_NAME: must be a non-empty name"):
        load_settings({"TRAILKEEPER_SERVICE_NAME": value})


def test_string_settings_are_stripped_before_validation() -> None:
    settings = load_settings({"TRAILKEEPER_LOG_LEVEL": " debug ", "TRAILKEEPER_DETECT": "off\n"})
    assert (settings.log_level, settings.detect) == ("debug", "off")


def test_unknown_trailkeeper_variables_are_ignored() -> None:
    assert load_settings({"TRAILKEEPER_NO_SUCH_SETTING": "x"}) == load_settings({})


def test_a_parse_problem_and_a_rule_problem_are_reported_together() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"TRAILKEEPER_PORT": "x", "TRAILKEEPER_DETECT": "maybe"})
    assert caught.value.problems == [
        "TRAILKEEPER_PORT='x': expected int",
        "TRAILKEEPER_DETECT: must be on or off",
    ]


def test_read_threads_are_automatic_by_backend_unless_set() -> None:
    from dataclasses import replace

    from trailkeeper.config import Settings
    from trailkeeper.web.services import POSTGRES_READ_THREADS, read_threads

    sqlite = Settings(database_url="sqlite:///x.db")
    postgres = Settings(database_url="postgresql://u@h/db")
    assert read_threads(sqlite) == (os.cpu_count() or 2)
    assert read_threads(postgres) == POSTGRES_READ_THREADS
    assert read_threads(replace(postgres, read_threads=3)) == 3
