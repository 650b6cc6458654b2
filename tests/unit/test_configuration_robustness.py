"""Configuration under abuse: every problem reported at once, secrets never echoed whatever goes wrong, and
nothing but ConfigurationError out of parse_configuration whatever JSON arrives."""
from __future__ import annotations

import json
import random
from typing import Any

import pytest

from s3_metadata.configuration import (
    HIDDEN, KNOWN_KEYS, MAX_LIST_ENTRIES, ConfigurationError, Problem, parse_configuration, quote_value,
)

MARKER = "MaRkEr7e3c"
SECRET = f"wJalrXUt/{MARKER}/bPxRfiCYzz+key"
TOKEN = f"IQoJb3JpZ2luX2Vj-{MARKER}-session-token"
EXTERNAL_ID = f"ext-{MARKER}-id"
ROLE_ARN = "arn:aws:iam::123456789012:role/fivetran-s3-metadata"
KEYS = {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": SECRET}


# ---------------------------------------------------------------------------------------- every problem at once

def test_single_problem_construction_still_works():
    error = ConfigurationError("bucket", "is required and was empty", '"my-bucket"')
    assert error.key == "bucket" and error.keys == ("bucket",)
    assert str(error) == "Configuration key 'bucket': is required and was empty. Example of a good value: \"my-bucket\""
    assert error.problems == (Problem("bucket", "is required and was empty", '"my-bucket"'),)
    assert isinstance(error, ValueError)


def test_several_problems_one_per_line():
    error = ConfigurationError.of([Problem("bucket", "p1", "e1"), Problem("aws_region", "p2", "e2"),
                                   Problem("bucket", "p3", "e3")])
    assert error.key == "bucket"
    assert error.keys == ("bucket", "aws_region")
    assert str(error).splitlines() == [
        "Configuration key 'bucket': p1. Example of a good value: e1",
        "Configuration key 'aws_region': p2. Example of a good value: e2",
        "Configuration key 'bucket': p3. Example of a good value: e3",
    ]


def test_every_bad_key_is_reported_at_once():
    with pytest.raises(ConfigurationError) as caught:
        parse_configuration({
            "bucket": "Bad_Bucket", "prefix": "s3://b/x", "aws_region": "Mars", "max_concurrency": "lots",
            "lookback_minutes": "-5", "range_size": "1", "restore_status_source": "sometimes", "sync_versions": "2",
            "reconcile_every_hours": "1", "endpoint_url": "http://host:99999", "sqs_queue_url": "queue",
            "role_arn": "my-role", "event_max_messages": "0", "event_time_budget_seconds": "1",
            "include_patterns": "**/*.gz,,", "aws_access_key_id": "AKIA EXAMPLE",
        })
    error = caught.value
    assert set(error.keys) == {
        "bucket", "prefix", "aws_region", "max_concurrency", "lookback_minutes", "range_size",
        "restore_status_source", "sync_versions", "reconcile_every_hours", "endpoint_url", "sqs_queue_url",
        "role_arn", "event_max_messages", "event_time_budget_seconds", "include_patterns", "aws_access_key_id",
        "aws_secret_access_key",
    }
    lines = str(error).splitlines()
    assert len(lines) == len(error.problems) == len(error.keys)
    for line, problem in zip(lines, error.problems):
        assert line.startswith(f"Configuration key '{problem.key}': ")
        assert "Example of a good value: " in line


@pytest.mark.parametrize("configuration, keys", [
    pytest.param({"aws_secret_access_key": ["x"], "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE"},
                 ("aws_secret_access_key",), id="bad-secret-is-not-also-reported-missing"),
    pytest.param({"role_arn": ["x"], "external_id": "ext-id"}, ("role_arn",),
                 id="bad-role-is-not-also-reported-missing"),
    pytest.param({"prefix": "s3://x/", "include_patterns": "raw/**"}, ("prefix",),
                 id="bad-prefix-skips-the-pattern-reach-check"),
    pytest.param({"bucket": ["x"]}, ("bucket",), id="bad-bucket-is-not-also-reported-empty"),
])
def test_a_bad_value_is_not_reported_twice_through_the_checks_that_depend_on_it(configuration, keys):
    with pytest.raises(ConfigurationError) as caught:
        parse_configuration({"bucket": "my-bucket", **configuration})
    assert caught.value.keys == keys


# ------------------------------------------------------------------------------------------ secrets never echoed

@pytest.mark.parametrize("key, value, shown", [
    pytest.param("aws_secret_access_key", SECRET, HIDDEN, id="secret"),
    pytest.param("aws_session_token", TOKEN, HIDDEN, id="token"),
    pytest.param("external_id", EXTERNAL_ID, HIDDEN, id="external-id"),
    pytest.param("aws_secret_access_key", "<YOUR_SECRET>", HIDDEN, id="secret-placeholder"),
    pytest.param("aws_access_key_id", "AKIAIOSFODNN7EXAMPLE", "'AKIA'… (20 characters)", id="key-id-preview"),
    pytest.param("aws_access_key_id", "minioadm", HIDDEN, id="short-key-id-not-shown-at-all"),
    pytest.param("bucket", "my-bucket", "'my-bucket'", id="plain"),
    pytest.param("bucket", "x" * 41, f"'{'x' * 40}'… (41 characters)", id="cut-after-40"),
    pytest.param("bucket", "x" * 40, f"'{'x' * 40}'", id="exactly-40-not-cut"),
    pytest.param("prefix", "a\nb\x00", "'a\\nb\\x00'", id="control-characters-escaped"),
    pytest.param("endpoint_url", "http://KEY:SECRET@host:9000", "'http://***@host:9000'", id="user-info"),
    pytest.param("endpoint_url", "http://K:SE/CR?E#T@host", "'http://***@host'", id="user-info-with-url-characters"),
    pytest.param("endpoint_url", "KEY:SECRET@host:9000", "'***@host:9000'", id="user-info-without-scheme"),
    pytest.param("bucket", "http://KEY:SECRET@host/b", "'http://***@host/b'", id="user-info-in-any-key"),
    pytest.param("role_session_name", "me@example", "'me@example'", id="at-sign-without-scheme-elsewhere"),
])
def test_quote_value(key, value, shown):
    assert quote_value(key, value) == shown


def test_quote_value_hides_a_known_secret_pasted_anywhere():
    assert quote_value("aws_region", f"us-{SECRET}", secrets=[SECRET]) == f"'us-{HIDDEN}'"
    assert quote_value("aws_access_key_id", SECRET, secrets=[SECRET]) == HIDDEN


SECRET_CONFIGURATIONS = {
    # the secret keys themselves, malformed
    "secret-placeholder": {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": f"<{MARKER}>"},
    "token-placeholder": {**KEYS, "aws_session_token": f"<{MARKER}>"},
    "external-id-placeholder": {"role_arn": ROLE_ARN, "external_id": f"<{MARKER}>"},
    "secret-without-key-id": {"aws_secret_access_key": SECRET},
    "token-without-keys": {"aws_session_token": TOKEN},
    "external-id-without-role": {"external_id": EXTERNAL_ID},
    "external-id-too-long": {"role_arn": ROLE_ARN, "external_id": MARKER * 200},
    "external-id-with-bad-role": {"role_arn": "my-role", "external_id": EXTERNAL_ID},
    "secret-huge": {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": MARKER * 10_000},
    "secret-in-a-list": {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": [MARKER]},
    "secret-in-an-object": {**KEYS, "aws_session_token": {"token": MARKER}},
    # the secret pasted where it does not belong
    "secret-as-key-id": {"aws_access_key_id": SECRET, "aws_secret_access_key": SECRET},
    "key-id-holding-the-marker": {"aws_access_key_id": f"AKIA {MARKER}", "aws_secret_access_key": SECRET},
    "key-id-placeholder-holding-the-marker": {"aws_access_key_id": f"<AKIA{MARKER}>",
                                              "aws_secret_access_key": SECRET},
    "secret-as-region": {**KEYS, "aws_region": SECRET},
    "secret-as-bucket": {**KEYS, "bucket": SECRET},
    "secret-in-a-bucket-list": {**KEYS, "bucket": f"good-bucket,{SECRET}"},
    "secret-as-prefix-url": {**KEYS, "prefix": f"s3://{SECRET}"},
    "secret-as-pattern": {**KEYS, "include_patterns": f"raw/{SECRET}", "prefix": "logs/"},
    "secret-as-number": {**KEYS, "max_concurrency": SECRET},
    "secret-as-choice": {**KEYS, "restore_status_source": SECRET},
    "secret-as-flag": {**KEYS, "sync_versions": SECRET},
    "secret-as-role": {**KEYS, "role_arn": SECRET},
    "secret-as-session-name": {**KEYS, "role_arn": ROLE_ARN, "role_session_name": SECRET},
    "token-as-region": {**KEYS, "aws_session_token": TOKEN, "aws_region": TOKEN},
    "external-id-as-session-name": {"role_arn": ROLE_ARN, "external_id": EXTERNAL_ID, "role_session_name":
                                    EXTERNAL_ID + " x"},
    # credentials inside URLs
    "endpoint-user-info": {"endpoint_url": f"http://AKIAIOSFODNN7EXAMPLE:{MARKER}@localhost:9000"},
    "endpoint-user-info-secret-with-slash": {"endpoint_url": f"http://AKIA:wJal/{MARKER}/x@localhost:9000"},
    "endpoint-user-info-secret-with-query": {"endpoint_url": f"http://AKIA:a?{MARKER}#b@localhost:9000"},
    "endpoint-user-info-no-scheme": {"endpoint_url": f"AKIA:{MARKER}@localhost:9000"},
    "endpoint-user-info-bad-port": {"endpoint_url": f"http://AKIA:{MARKER}@localhost:port"},
    "endpoint-user-info-ftp": {"endpoint_url": f"ftp://AKIA:{MARKER}@localhost"},
    "endpoint-user-info-space": {"endpoint_url": f"http://AKIA:{MARKER} @localhost"},
    "endpoint-secret-as-path": {**KEYS, "endpoint_url": f"http://localhost:9000/{SECRET}"},
    "endpoint-secret-long-path": {**KEYS, "endpoint_url": f"http://localhost:9000/{'p' * 30}{SECRET}"},
    "queue-user-info": {"sqs_queue_url": f"https://AKIA:{MARKER}@sqs.us-east-1.amazonaws.com/123456789012/q"},
    "queue-user-info-no-scheme": {"sqs_queue_url": f"AKIA:{MARKER}@sqs.us-east-1.amazonaws.com/123456789012/q"},
    "bucket-url-with-user-info": {"bucket": f"https://AKIA:{MARKER}@my-bucket.s3.amazonaws.com"},
    # several problems together, each with secrets around
    "everything-wrong": {"aws_secret_access_key": SECRET, "aws_session_token": TOKEN, "external_id": EXTERNAL_ID,
                         "aws_region": SECRET, "endpoint_url": f"http://K:{MARKER}@h:0", "bucket": TOKEN,
                         "role_session_name": EXTERNAL_ID, "max_concurrency": TOKEN},
    # valid, with warnings around the secrets
    "warning-secret-as-leading-slash-prefix": {**KEYS, "prefix": f"/{SECRET}"},
    "warning-secret-in-excluded-prefix": {**KEYS, "prefix": SECRET, "exclude_patterns": "**"},
    "warning-secret-as-shadowed-include": {**KEYS, "include_patterns": f"{SECRET}/*,**/*.gz",
                                           "exclude_patterns": f"{SECRET}/**"},
    "warning-listing-with-endpoint": {**KEYS, "endpoint_url": "http://localhost:9000",
                                      "restore_status_source": "listing"},
}


@pytest.mark.parametrize("overrides", [pytest.param(c, id=name) for name, c in SECRET_CONFIGURATIONS.items()])
def test_secret_values_never_appear_in_errors_or_warnings(overrides):
    """Every message a configuration can produce, with the secrets (and credentials in URLs) carrying a marker:
    the marker must never come out."""
    configuration = {"bucket": "my-bucket", **overrides}
    texts: list[str] = []
    try:
        settings = parse_configuration(configuration)
    except ConfigurationError as error:
        texts += [str(error), repr(error), *(p.problem for p in error.problems)]
    else:
        assert settings.warnings, "a valid configuration in this table is here for its warnings"
        texts += settings.warnings
    assert texts
    assert [t for t in texts if MARKER in t] == []


# -------------------------------------------------------------------------------- only ConfigurationError, ever

STRANGE_VALUES: list[Any] = [
    None, True, False, 0, -1, 2**63, 10**5000, 1e308, float("inf"), float("-inf"), float("nan"), 0.5,
    "", " ", "\x00", "\ud800", "\U0001f4a5" * 50, "é" * 70, "a" * 70_000, "a," * 5_000, ",", "\\", "\\,",
    "<>", "<x>", "[", "]", "[::1]", "http://[", "http://:", "http://a:b:c", "http://[::1]:x", "http://h:" + "9" * 5000,
    "::", "%", "%25", "*" * 2000, "**/" * 400, "*a" * 500, "?" * 1025, "/", "//", "arn:", "s3://", "-1e309",
    "0x10", "1_000", "\u0661\u0662", "١e٢", "true ", "nan", [], [1, "a"], {}, {"a": {"b": [None]}}, b"bytes",
    ("tuple",), {1, 2},
]


def strange_configurations() -> list[Any]:
    """~100 configurations no form would produce: every key with strange values, whole objects of them, and
    top-level JSON values that are not objects at all."""
    rng = random.Random(20240917)
    keys = sorted(KNOWN_KEYS)
    configurations: list[Any] = [None, [], [{"bucket": "b"}], "bucket", 42, 4.2, True, json.loads('"x"')]
    for key in keys:  # each key alone, with a few values each, next to a good bucket
        for value in rng.sample(STRANGE_VALUES, 3):
            configurations.append({"bucket": "my-bucket", key: value})
    for _ in range(40):  # many keys at once, the bucket included
        configurations.append({key: rng.choice(STRANGE_VALUES) for key in rng.sample(keys, rng.randint(2, 10))})
    configurations.append({1: "x", None: "y", "bucket": "my-bucket"})
    configurations.append({key: MARKER for key in keys})
    configurations.append({"bucket": ",".join(f"bucket-{i:04d}" for i in range(MAX_LIST_ENTRIES + 1))})
    return configurations


@pytest.mark.parametrize("configuration", [pytest.param(c, id=f"strange-{i}")
                                           for i, c in enumerate(strange_configurations())])
def test_only_configuration_error_comes_out_and_it_names_the_keys(configuration):
    try:
        settings = parse_configuration(configuration)
    except ConfigurationError as error:
        message = str(error)
        assert error.problems
        for problem in error.problems:
            assert problem.key in KNOWN_KEYS | {"configuration"}
            assert f"Configuration key '{problem.key}': " in message
        assert len(message) < 2_000 * len(error.problems), "a message must never carry a whole value"
        if isinstance(configuration, dict):
            strange = {k for k, v in configuration.items() if k in KNOWN_KEYS and not isinstance(v, (str, int, float))
                       and v is not None}
            assert strange <= set(error.keys), "every key holding a non-text value is named"
    else:
        assert settings.buckets


def test_strange_configurations_are_about_a_hundred():
    assert len(strange_configurations()) >= 100
