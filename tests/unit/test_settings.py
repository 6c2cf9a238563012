"""Settings: environment variables, Locust options, clean errors, and secrets that never print."""

from types import SimpleNamespace

import pytest

from agentload.settings import Secret, SettingsError, load, redact_url


def test_seed_defaults() -> None:
    """With nothing set, the documented defaults apply."""
    settings = load(None, None, env={})
    assert settings.base_url == "http://localhost:3000"
    assert (settings.test_user_id, settings.clerk_id, str(settings.internal_key)) == (
        "k6-test-user",
        "test_clerk_id",
        "test-key",
    )
    assert settings.timeouts_s["chat"] == 10.0


def test_host_option_wins_over_base_url() -> None:
    """--host overrides BASE_URL, which overrides the default."""
    assert load(None, "http://127.0.0.1:9/", env={"BASE_URL": "http://x:1"}).base_url == "http://127.0.0.1:9"
    assert load(None, None, env={"BASE_URL": "http://x:1"}).base_url == "http://x:1"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"AGENTLOAD_TIME_SCALE": "fast"},
            "AGENTLOAD_TIME_SCALE: must be a number greater than 0 (got 'fast')",
        ),
        ({"AGENTLOAD_TIME_SCALE": "0"}, "AGENTLOAD_TIME_SCALE: must be a number greater than 0 (got '0')"),
        (
            {"BASE_URL": "localhost:3000"},
            "BASE_URL: must be an http(s) URL like http://localhost:3000 (got 'localhost:3000')",
        ),
        ({"AGENTLOAD_REPORT_ONLY": "maybe"}, "AGENTLOAD_REPORT_ONLY: must be true or false (got 'maybe')"),
        ({"AGENTLOAD_TIMEOUT": "soon"}, "AGENTLOAD_TIMEOUT: must be a duration like 10s (got 'soon')"),
        (
            {"AGENTLOAD_STREAM_FORMAT": "sse"},
            "AGENTLOAD_STREAM_FORMAT: must be auto or one of openai, ai-sdk, ai-sdk-data, text, "
            "openai-responses, anthropic (got 'sse')",
        ),
    ],
)
def test_bad_values_give_one_line_naming_the_source(env, message) -> None:
    """Every bad value is reported in one line naming where it came from and what it was."""
    with pytest.raises(SettingsError) as info:
        load(None, None, env=env)
    assert str(info.value) == message


def test_per_endpoint_timeouts() -> None:
    """Per-endpoint timeouts override only the endpoints named."""
    options = SimpleNamespace(request_timeout="chat=30s,intent=500ms")
    timeouts = load(options, None, env={}).timeouts_s
    assert timeouts == {"health": 10.0, "intent": 0.5, "step": 10.0, "chat": 30.0}


def test_secret_never_shows_in_repr() -> None:
    """The internal key is absent from the settings' repr and the Secret's repr."""
    settings = load(None, None, env={"INTERNAL_SYSTEM_KEY": "sk-very-distinctive-123"})
    assert "sk-very-distinctive-123" not in repr(settings)
    assert "sk-very-distinctive-123" not in repr(Secret("sk-very-distinctive-123"))


def test_credentials_in_urls_are_redacted() -> None:
    """user:password in a URL never reaches output, including in error messages."""
    assert redact_url("http://bob:hunter2@example.test:8080/x") == "http://***@example.test:8080/x"
    with pytest.raises(SettingsError) as info:
        load(None, None, env={"BASE_URL": "ftp://bob:hunter2@example.test"})
    assert "hunter2" not in str(info.value)


def test_master_timeout_defaults_to_three_seconds_and_reads_option_then_env() -> None:
    """--master-timeout wins over AGENTLOAD_MASTER_TIMEOUT, which wins over the 3 s default."""
    assert load(None, None, env={}).master_timeout_s == 3.0
    assert load(None, None, env={"AGENTLOAD_MASTER_TIMEOUT": "5s"}).master_timeout_s == 5.0
    options = SimpleNamespace(master_timeout="2500ms")
    assert load(options, None, env={"AGENTLOAD_MASTER_TIMEOUT": "5s"}).master_timeout_s == 2.5


@pytest.mark.parametrize(
    ("options", "env", "message"),
    [
        (None, {"AGENTLOAD_MASTER_TIMEOUT": "1s"}, "AGENTLOAD_MASTER_TIMEOUT: must be at least 2s"),
        (
            SimpleNamespace(master_timeout="soon"),
            {},
            "--master-timeout: must be a duration like 10s (got 'soon')",
        ),
    ],
)
def test_bad_master_timeout_is_one_line(options, env, message) -> None:
    """A master timeout that is no duration, or shorter than two heartbeats, is one line naming it."""
    with pytest.raises(SettingsError) as info:
        load(options, None, env=env)
    assert str(info.value).startswith(message)


def test_cluster_key_comes_from_the_environment_only_and_never_shows() -> None:
    """The cluster key is read from AGENTLOAD_CLUSTER_KEY, not options, and is absent from repr."""
    key = "ck-very-distinctive-0123456789"
    settings = load(SimpleNamespace(cluster_key="from-an-option"), None, env={"AGENTLOAD_CLUSTER_KEY": key})
    assert str(settings.cluster_key) == key
    assert key not in repr(settings) and key not in repr(settings.cluster_key)
    assert load(None, None, env={}).cluster_key is None
    assert load(None, None, env={"AGENTLOAD_CLUSTER_KEY": ""}).cluster_key is None


def test_short_cluster_key_is_refused_without_showing_it() -> None:
    """A key under 16 characters is a one-line error giving its length, never the key."""
    with pytest.raises(SettingsError) as info:
        load(None, None, env={"AGENTLOAD_CLUSTER_KEY": "hunter2"})
    assert str(info.value) == "AGENTLOAD_CLUSTER_KEY: must be at least 16 characters (got 7 characters)"


def test_stream_format_is_auto_unless_forced() -> None:
    """No value or `auto` lets each response choose; an option wins over the environment."""
    assert load(None, None, env={}).stream_format is None
    assert load(None, None, env={"AGENTLOAD_STREAM_FORMAT": "AUTO"}).stream_format is None
    options = SimpleNamespace(stream_format="text")
    assert load(options, None, env={"AGENTLOAD_STREAM_FORMAT": "anthropic"}).stream_format == "text"
