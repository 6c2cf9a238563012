"""InfluxDB output settings: options over env, one-line errors, and a token that never prints."""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import pytest

from agentload.integrations.influx_settings import add_influx_options, influx_settings
from agentload.settings import SettingsError

ENV = {
    "INFLUX_URL": "http://influx:8086/",
    "INFLUX_ORG": "o",
    "INFLUX_BUCKET": "b",
    "INFLUX_TOKEN": "tok-123",
}


def options(**values: str) -> SimpleNamespace:
    return SimpleNamespace(**{f"influx_{k}": v for k, v in values.items()})


def test_disabled_without_url() -> None:
    """No URL anywhere means no output, even if the other values are set."""
    assert influx_settings(None, {"INFLUX_TOKEN": "x"}) is None
    assert influx_settings(options(url="", org="o"), {}) is None


def test_from_env() -> None:
    """All four from the environment; the trailing slash is dropped."""
    settings = influx_settings(None, ENV)
    assert settings is not None
    assert (settings.url, settings.org, settings.bucket, str(settings.token)) == (
        "http://influx:8086",
        "o",
        "b",
        "tok-123",
    )


def test_options_win_over_env() -> None:
    """A Locust option overrides its environment variable."""
    settings = influx_settings(options(url="https://other:9999", bucket="db/rp"), ENV)
    assert settings is not None and (settings.url, settings.bucket, settings.org) == (
        "https://other:9999",
        "db/rp",
        "o",
    )


@pytest.mark.parametrize(
    ("opts", "env", "message"),
    [
        (
            {"url": "ftp://x"},
            ENV,
            r"^--influx-url: must be an http\(s\) URL like http://localhost:8086 \(got 'ftp://x'\)$",
        ),
        ({}, {**ENV, "INFLUX_URL": "localhost:8086"}, r"^INFLUX_URL: must be an http\(s\) URL"),
        ({"url": "http://h:99999"}, ENV, r"^--influx-url: must be an http\(s\) URL"),
        ({"url": "http://h/?db=x"}, ENV, r"must not have a query"),
        (
            {},
            {**ENV, "INFLUX_ORG": ""},
            r"^INFLUX_URL is set, so --influx-org \(or INFLUX_ORG\) is required$",
        ),
        ({}, {**ENV, "INFLUX_BUCKET": ""}, r"--influx-bucket \(or INFLUX_BUCKET\) is required$"),
        ({}, {**ENV, "INFLUX_TOKEN": ""}, r"--influx-token \(or INFLUX_TOKEN\) is required$"),
        ({"bucket": "my bucket"}, ENV, r"^--influx-bucket: must not contain spaces"),
        ({}, {**ENV, "INFLUX_TIMEOUT": "0"}, r"^INFLUX_TIMEOUT: must be a number greater than 0"),
        ({}, {**ENV, "INFLUX_MAX_POINTS": "many"}, r"^INFLUX_MAX_POINTS: must be a number"),
    ],
)
def test_errors_are_one_line(opts: dict[str, str], env: dict[str, str], message: str) -> None:
    """Each bad value fails with one line naming its source."""
    with pytest.raises(SettingsError, match=message) as caught:
        influx_settings(options(**opts), env)
    assert "\n" not in str(caught.value)


def test_url_credentials_become_the_1x_token() -> None:
    """http://user:pass@host (InfluxDB 1.x) moves the credentials into the token and out of the URL."""
    env = {k: v for k, v in ENV.items() if k != "INFLUX_TOKEN"}
    settings = influx_settings(options(url="http://admin:p%40ss@influx:8086"), env)
    assert settings is not None
    assert settings.url == "http://influx:8086" and str(settings.token) == "admin:p@ss"


def test_token_never_shown() -> None:
    """Neither repr, str, nor an error message shows the token or URL credentials."""
    settings = influx_settings(options(token="tok-SECRET"), ENV)
    assert settings is not None
    assert "tok-SECRET" not in repr(settings) + str(settings) + f"{settings!r}"
    with pytest.raises(SettingsError) as caught:
        influx_settings(options(url="ftp://user:pw-SECRET@h"), ENV)
    assert "pw-SECRET" not in str(caught.value)


def test_options_registered_hidden_and_once() -> None:
    """All four options exist, none is shown in the web UI, and registering twice is harmless."""
    from locust.argument_parser import LocustArgumentParser

    parser = LocustArgumentParser()
    add_influx_options(parser)
    add_influx_options(parser)
    parsed = parser.parse_args(["--influx-url", "http://h:1", "--influx-token", "t"])
    assert (parsed.influx_url, parsed.influx_token, parsed.influx_org) == ("http://h:1", "t", None)
    assert not {"influx_url", "influx_org", "influx_bucket", "influx_token"} & set(
        parser.args_included_in_web_ui
    )
    assert isinstance(parsed, argparse.Namespace)
