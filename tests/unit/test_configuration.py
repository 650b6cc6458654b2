"""Unit tests for s3_metadata.configuration: every key, every error path, and secrets kept out of repr."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from s3_metadata.key_range import KeyRange
from s3_metadata.configuration import (
    DEFAULT_EVENT_MAX_MESSAGES, DEPRECATED_KEYS, DEFAULT_EVENT_TIME_BUDGET_SECONDS, DEFAULT_LOOKBACK_MINUTES, DEFAULT_MAX_CONCURRENCY,
    DEFAULT_RANGE_SIZE, DEFAULT_REGION, DEFAULT_ROLE_SESSION_NAME, KNOWN_KEYS, SECRET_KEYS, ConfigurationError,
    Settings, parse_configuration, split_list, suggested_key,
)

ROOT = Path(__file__).resolve().parents[2]

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETzz"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE-session-TOKEN-zz"
EXTERNAL_ID = "ext-id-VERY-private-4711"
ROLE_ARN = "arn:aws:iam::123456789012:role/fivetran-s3-metadata"

# One valid value for every key, chosen so that none equals a default: a parsed value that is still the
# default shows the key was not read.
FULL_CONFIGURATION = {
    "bucket": "data-bucket, archive-bucket",
    "prefix": "logs/, raw/",
    "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
    "aws_secret_access_key": SECRET,
    "aws_session_token": TOKEN,
    "role_arn": ROLE_ARN,
    "external_id": EXTERNAL_ID,
    "role_session_name": "my-session",
    "aws_region": "eu-west-1",
    "endpoint_url": "http://localhost:9000/",
    "include_patterns": "logs/**/*.gz, raw/*.parquet",
    "exclude_patterns": "**/_temporary/**,**/*.tmp",
    "max_concurrency": "32",
    "lookback_minutes": "90.5",
    "range_size": "500",
    "restore_status_source": "HEAD",
    "sync_versions": "yes",
    "reconcile_every_hours": "12",
    "sqs_queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/s3-events",
    "event_max_messages": "5000",
    "event_time_budget_seconds": "120.5",
    "verify_every_hours": "0.25",
    "object_details": "Tags, head",
    "key_range_start": "logs/2024-07",
    "key_range_end": "raw/m",
    "inventory_source": "s3://inventory-bucket/reports",
}

EXPECTED_FROM_FULL = {
    "buckets": ("data-bucket", "archive-bucket"),
    "prefixes": ("logs/", "raw/"),
    "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
    "aws_secret_access_key": SECRET,
    "aws_session_token": TOKEN,
    "role_arn": ROLE_ARN,
    "external_id": EXTERNAL_ID,
    "role_session_name": "my-session",
    "aws_region": "eu-west-1",
    "endpoint_url": "http://localhost:9000",
    "include_patterns": ("logs/**/*.gz", "raw/*.parquet"),
    "exclude_patterns": ("**/_temporary/**", "**/*.tmp"),
    "max_concurrency": 32,
    "lookback": timedelta(minutes=90.5),
    "range_size": 500,
    "restore_status_source": "head",
    "sync_versions": True,
    "reconcile_every": timedelta(hours=12),
    "sqs_queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/s3-events",
    "event_max_messages": 5000,
    "event_time_budget": timedelta(seconds=120.5),
    "verify_every": timedelta(minutes=15),
    "object_details": ("head", "tags"),
    "key_range": KeyRange("logs/2024-07", "raw/m"),
    "inventory_source": "s3://inventory-bucket/reports/",
    "unknown_keys": (),
}

# Keys whose value is on/off: a JSON true/false is accepted there as well as the strings.
FLAG_KEYS = frozenset({"sync_versions"})

PLACEHOLDERS = {key: f"<YOUR_{key.upper()}>" for key in sorted(KNOWN_KEYS)}


def expect_error(configuration, key: str, problem: str) -> ConfigurationError:
    """Parse, and check that the error names `key`, says `problem` and shows a good value."""
    with pytest.raises(ConfigurationError) as caught:
        parse_configuration(configuration)
    error = caught.value
    message = str(error)
    assert error.key == key
    assert f"'{key}'" in message
    assert problem in message
    assert "Example of a good value" in message
    # The example must be an actual value, not an empty tail.
    assert message.split("Example of a good value:", 1)[1].strip()
    return error


# ---------------------------------------------------------------------------------------------------- valid input

def test_full_configuration_reads_every_known_key():
    settings = parse_configuration(FULL_CONFIGURATION)
    assert {name: getattr(settings, name) for name in EXPECTED_FROM_FULL} == EXPECTED_FROM_FULL


def test_full_configuration_covers_every_known_key():
    """If a key is added to KNOWN_KEYS, the full configuration above must learn it too."""
    assert set(FULL_CONFIGURATION) == set(KNOWN_KEYS)


def test_fivetran_example_keys_work_unchanged():
    """The five keys of Fivetran's own S3 example connector, so its configuration can be reused as it is."""
    settings = parse_configuration({
        "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key": SECRET,
        "aws_region": "us-west-2",
        "bucket": "example-bucket",
        "prefix": "folder/",
    })
    assert settings.buckets == ("example-bucket",)
    assert settings.prefixes == ("folder/",)
    assert settings.aws_access_key_id == "AKIAIOSFODNN7EXAMPLE"
    assert settings.aws_secret_access_key == SECRET
    assert settings.aws_region == "us-west-2"
    assert settings.unknown_keys == ()


def test_minimal_configuration_gets_defaults():
    settings = parse_configuration({"bucket": "my-bucket"})
    assert settings == Settings(buckets=("my-bucket",))
    assert settings.prefixes == ("",)
    assert settings.aws_access_key_id is None
    assert settings.aws_secret_access_key is None
    assert settings.aws_session_token is None
    assert settings.role_arn is None
    assert settings.external_id is None
    assert settings.role_session_name == DEFAULT_ROLE_SESSION_NAME
    assert settings.aws_region == DEFAULT_REGION
    assert settings.endpoint_url is None
    assert settings.include_patterns == ()
    assert settings.exclude_patterns == ()
    assert settings.max_concurrency == DEFAULT_MAX_CONCURRENCY
    assert settings.lookback == timedelta(minutes=DEFAULT_LOOKBACK_MINUTES)
    assert settings.range_size == DEFAULT_RANGE_SIZE
    assert settings.restore_status_source == "auto"
    assert settings.sync_versions is False
    assert settings.reconcile_every is None
    assert settings.sqs_queue_url is None
    assert settings.event_max_messages == DEFAULT_EVENT_MAX_MESSAGES
    assert settings.event_time_budget == timedelta(seconds=DEFAULT_EVENT_TIME_BUDGET_SECONDS)


@pytest.mark.parametrize("blank", [
    pytest.param("", id="empty-string"),
    pytest.param("   ", id="only-spaces"),
    pytest.param(None, id="json-null"),
])
def test_empty_value_means_unset_for_every_optional_key(blank):
    """Fivetran sends a form field left empty as "", so "" must behave exactly like an absent key."""
    configuration = {key: blank for key in KNOWN_KEYS}
    configuration["bucket"] = "my-bucket"
    assert parse_configuration(configuration) == parse_configuration({"bucket": "my-bucket"})


def test_configuration_json_example_holds_every_key_with_its_default():
    """configuration.json.example lists every key but the deprecated ones, each with its default: with the bucket
    filled in it parses to exactly what the bucket alone gives. Only the bucket is a placeholder."""
    example = json.loads((ROOT / "configuration.json.example").read_text(encoding="utf-8"))
    assert set(example) == KNOWN_KEYS - DEPRECATED_KEYS
    assert [key for key, value in example.items() if value.startswith("<")] == ["bucket"]
    assert parse_configuration({**example, "bucket": "my-bucket"}) == parse_configuration({"bucket": "my-bucket"})


@pytest.mark.parametrize("configuration", [
    pytest.param(None, id="none"),
    pytest.param({}, id="empty-dict"),
])
def test_missing_configuration_asks_for_bucket(configuration):
    expect_error(configuration, "bucket", "is required")


@pytest.mark.parametrize("text, expected", [
    pytest.param("a", ["a"], id="single"),
    pytest.param("a,b", ["a", "b"], id="two"),
    pytest.param(" a , b ,c ", ["a", "b", "c"], id="spaces-around-items-dropped"),
    pytest.param("a b, c", ["a b", "c"], id="inner-space-kept"),
    pytest.param(r"a\,b,c", ["a,b", "c"], id="escaped-comma-is-literal"),
    pytest.param(r"a\\,b", ["a\\", "b"], id="escaped-backslash-then-separator"),
    pytest.param(r"a\b", [r"a\b"], id="backslash-before-other-char-kept"),
    pytest.param("a\\", ["a\\"], id="trailing-backslash-kept"),
    pytest.param("a,,b", ["a", "", "b"], id="empty-middle-item"),
    pytest.param("a,", ["a", ""], id="trailing-comma"),
    pytest.param("", [""], id="empty-text"),
])
def test_split_list(text, expected):
    assert split_list(text) == expected


@pytest.mark.parametrize("key, text, field, expected", [
    pytest.param("bucket", " one-bucket ,two-bucket ", "buckets", ("one-bucket", "two-bucket"),
                 id="buckets-with-spaces"),
    pytest.param("bucket", "one-bucket,two-bucket,one-bucket", "buckets", ("one-bucket", "two-bucket"),
                 id="duplicate-bucket-listed-once"),
    pytest.param("prefix", "logs/ , raw/", "prefixes", ("logs/", "raw/"), id="prefixes-with-spaces"),
    pytest.param("prefix", "logs/,logs/", "prefixes", ("logs/",), id="duplicate-prefix-listed-once"),
    pytest.param("prefix", r"odd\,name/", "prefixes", ("odd,name/",), id="prefix-with-escaped-comma"),
    pytest.param("include_patterns", r"**/a\,b.csv, **/*.gz", "include_patterns", ("**/a,b.csv", "**/*.gz"),
                 id="include-with-escaped-comma"),
    pytest.param("exclude_patterns", r"**/x\,y/**,**/*.tmp", "exclude_patterns", ("**/x,y/**", "**/*.tmp"),
                 id="exclude-with-escaped-comma"),
    pytest.param("exclude_patterns", r"**/back\\slash", "exclude_patterns", ("**/back\\slash",),
                 id="exclude-with-escaped-backslash"),
])
def test_comma_lists(key, text, field, expected):
    configuration = {"bucket": "my-bucket", key: text}
    assert getattr(parse_configuration(configuration), field) == expected


@pytest.mark.parametrize("key, value, field, expected", [
    pytest.param("aws_region", "  eu-central-1  ", "aws_region", "eu-central-1", id="region-stripped"),
    pytest.param("aws_region", "us-gov-west-1", "aws_region", "us-gov-west-1", id="gov-region"),
    pytest.param("endpoint_url", "https://abc.r2.cloudflarestorage.com", "endpoint_url",
                 "https://abc.r2.cloudflarestorage.com", id="https-endpoint"),
    pytest.param("endpoint_url", "http://127.0.0.1:9000///", "endpoint_url", "http://127.0.0.1:9000",
                 id="endpoint-trailing-slashes-dropped"),
    pytest.param("max_concurrency", "1", "max_concurrency", 1, id="concurrency-min"),
    pytest.param("max_concurrency", "128", "max_concurrency", 128, id="concurrency-max"),
    pytest.param("max_concurrency", " 8 ", "max_concurrency", 8, id="concurrency-spaces"),
    pytest.param("range_size", "10", "range_size", 10, id="range-size-min"),
    pytest.param("range_size", "100000", "range_size", 100000, id="range-size-max"),
    pytest.param("lookback_minutes", "0", "lookback", timedelta(0), id="lookback-zero"),
    pytest.param("lookback_minutes", "0.5", "lookback", timedelta(seconds=30), id="lookback-fraction"),
    pytest.param("lookback_minutes", "1e2", "lookback", timedelta(minutes=100), id="lookback-exponent"),
    pytest.param("lookback_minutes", "527040", "lookback", timedelta(minutes=527040), id="lookback-max"),
    pytest.param("restore_status_source", "listing", "restore_status_source", "listing", id="restore-source-listing"),
    pytest.param("restore_status_source", " Auto ", "restore_status_source", "auto",
                 id="restore-source-case-and-spaces"),
    pytest.param("sync_versions", "true", "sync_versions", True, id="versions-true"),
    pytest.param("sync_versions", "ON", "sync_versions", True, id="versions-on"),
    pytest.param("sync_versions", "1", "sync_versions", True, id="versions-one"),
    pytest.param("sync_versions", "false", "sync_versions", False, id="versions-false"),
    pytest.param("sync_versions", "No", "sync_versions", False, id="versions-no"),
    pytest.param("sync_versions", "0", "sync_versions", False, id="versions-zero"),
    pytest.param("sync_versions", "off", "sync_versions", False, id="versions-off"),
    pytest.param("sync_versions", True, "sync_versions", True, id="versions-json-true"),
    pytest.param("sync_versions", False, "sync_versions", False, id="versions-json-false"),
    pytest.param("reconcile_every_hours", "0", "reconcile_every", None, id="reconcile-zero-is-off"),
    pytest.param("reconcile_every_hours", "6", "reconcile_every", timedelta(hours=6), id="reconcile-min"),
    pytest.param("reconcile_every_hours", "6.5", "reconcile_every", timedelta(hours=6.5), id="reconcile-fraction"),
    pytest.param("reconcile_every_hours", "8784", "reconcile_every", timedelta(hours=8784), id="reconcile-max"),
    pytest.param("sqs_queue_url", "http://localhost:9324/000000000000/q", "sqs_queue_url",
                 "http://localhost:9324/000000000000/q", id="queue-url-local"),
    pytest.param("event_max_messages", "1", "event_max_messages", 1, id="event-messages-min"),
    pytest.param("event_max_messages", "10000000", "event_max_messages", 10_000_000, id="event-messages-max"),
    pytest.param("event_time_budget_seconds", "10", "event_time_budget", timedelta(seconds=10), id="budget-min"),
    pytest.param("event_time_budget_seconds", "86400", "event_time_budget", timedelta(days=1), id="budget-max"),
    pytest.param("verify_every_hours", "0.001", "verify_every", timedelta(seconds=3.6), id="verify-min"),
    pytest.param("verify_every_hours", "1.5", "verify_every", timedelta(minutes=90), id="verify-fraction"),
    pytest.param("object_details", "head", "object_details", ("head",), id="details-head"),
    pytest.param("object_details", "tags", "object_details", ("tags",), id="details-tags-alone"),
    pytest.param("object_details", " TAGS , Head ", "object_details", ("head", "tags"),
                 id="details-any-order-and-case"),
    pytest.param("object_details", "head,head", "object_details", ("head",), id="details-repeated-once"),
    pytest.param("object_details", "", "object_details", (), id="details-empty-is-off"),
    # Fivetran always sends strings, but a hand-written configuration.json for `fivetran debug` often holds
    # JSON numbers; those are read as their text.
    pytest.param("max_concurrency", 8, "max_concurrency", 8, id="concurrency-json-number"),
    pytest.param("lookback_minutes", 1.5, "lookback", timedelta(seconds=90), id="lookback-json-number"),
])
def test_single_values(key, value, field, expected):
    assert getattr(parse_configuration({"bucket": "my-bucket", key: value}), field) == expected


@pytest.mark.parametrize("configuration, expected", [
    pytest.param({"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": SECRET},
                 {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": SECRET,
                  "aws_session_token": None}, id="static-keys"),
    pytest.param({"aws_access_key_id": "ASIAIOSFODNN7EXAMPLE", "aws_secret_access_key": SECRET,
                  "aws_session_token": TOKEN},
                 {"aws_access_key_id": "ASIAIOSFODNN7EXAMPLE", "aws_secret_access_key": SECRET,
                  "aws_session_token": TOKEN}, id="temporary-keys-with-token"),
    pytest.param({}, {"aws_access_key_id": None, "aws_secret_access_key": None, "aws_session_token": None},
                 id="neither-uses-default-chain"),
    pytest.param({"role_arn": ROLE_ARN}, {"role_arn": ROLE_ARN, "external_id": None,
                                          "role_session_name": DEFAULT_ROLE_SESSION_NAME},
                 id="role-alone-gets-default-session-name"),
    pytest.param({"role_arn": "arn:aws-cn:iam::123456789012:role/path/to/role+x=y,z.w@v-1"},
                 {"role_arn": "arn:aws-cn:iam::123456789012:role/path/to/role+x=y,z.w@v-1"},
                 id="china-partition-role-with-path"),
    pytest.param({"role_arn": "arn:aws-us-gov:iam::123456789012:role/r"},
                 {"role_arn": "arn:aws-us-gov:iam::123456789012:role/r"}, id="govcloud-role"),
    pytest.param({"role_arn": ROLE_ARN, "external_id": "ab", "role_session_name": "s_1+=,.@-"},
                 {"external_id": "ab", "role_session_name": "s_1+=,.@-"}, id="role-with-shortest-external-id"),
    pytest.param({"role_arn": ROLE_ARN, "external_id": "x" * 1224, "role_session_name": "s" * 64},
                 {"external_id": "x" * 1224, "role_session_name": "s" * 64}, id="role-fields-at-max-length"),
    pytest.param({"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": SECRET,
                  "role_arn": ROLE_ARN},
                 {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "role_arn": ROLE_ARN},
                 id="keys-as-base-credentials-for-role"),
])
def test_credential_and_role_combinations(configuration, expected):
    settings = parse_configuration({"bucket": "my-bucket", **configuration})
    assert {name: getattr(settings, name) for name in expected} == expected


def test_unknown_keys_are_collected_sorted_and_ignored():
    settings = parse_configuration({"bucket": "my-bucket", "zeta": "1", "Bucket": "x", "alpha": ["not", "checked"]})
    assert settings.unknown_keys == ("Bucket", "alpha", "zeta")
    assert settings.buckets == ("my-bucket",)
    assert settings.warnings == ("unknown configuration key 'Bucket' is ignored; did you mean 'bucket'?",
                                 "unknown configuration key 'alpha' is ignored",
                                 "unknown configuration key 'zeta' is ignored")


@pytest.mark.parametrize("name, expected", [
    pytest.param("prefx", "prefix", id="letter-missing"),
    pytest.param("buckte", "bucket", id="letters-swapped"),
    pytest.param("Bucket", "bucket", id="capitalised"),
    pytest.param("Prefix ", "prefix", id="capitalised-trailing-space"),
    pytest.param("max-concurrency", "max_concurrency", id="dash-for-underscore"),
    pytest.param("aws_secret_key", "aws_secret_access_key", id="shortened"),
    pytest.param("access_key_id", "aws_access_key_id", id="without-aws"),
    pytest.param("region", "aws_region", id="region"),
    pytest.param("endpoint", "endpoint_url", id="endpoint"),
    pytest.param("bucket_name", "bucket", id="longer-form"),
    pytest.param("s3_bucket", "bucket", id="prefixed-form"),
    pytest.param("buckets", "bucket", id="plural"),
    pytest.param("queue_url", "sqs_queue_url", id="queue"),
    pytest.param("include", "include_patterns", id="include"),
    pytest.param("patterns", None, id="include-or-exclude-ambiguous"),
    pytest.param("role", None, id="role-arn-or-session-ambiguous"),
    pytest.param("name", None, id="too-short-to-guess"),
    pytest.param("lookback_minute", None, id="deprecated-key-never-suggested"),
    pytest.param("zeta", None, id="unrelated"),
    pytest.param("tags", None, id="unrelated-short"),
])
def test_mistyped_key_suggestion(name, expected):
    assert suggested_key(name) == expected


@pytest.mark.parametrize("configuration, warnings", [
    pytest.param({"bucket": "my-bucket", "prefx": "logs/"},
                 ["unknown configuration key 'prefx' is ignored; did you mean 'prefix'?"], id="typo-warned"),
    pytest.param({"bucket": "my-bucket", "prefix": "logs/", "prefx": "raw/"},
                 ["unknown configuration key 'prefx' is ignored; did you mean 'prefix'?"],
                 id="typo-next-to-the-real-key"),
    pytest.param({"bucket": "my-bucket", "colour": "blue"}, ["unknown configuration key 'colour' is ignored"],
                 id="no-suggestion"),
    pytest.param({"bucket": "my-bucket", "x" * 100: "1"},
                 [f"unknown configuration key {'x' * 40!r}… (100 characters) is ignored"], id="long-name-cut"),
])
def test_unknown_key_warnings(configuration, warnings):
    assert list(parse_configuration(configuration).warnings) == warnings


@pytest.mark.parametrize("configuration, lines", [
    pytest.param({"buckte": "my-bucket"},
                 ["Configuration key 'bucket': is required; 'buckte' is not a configuration key: did you mean "
                  "'bucket'? Example of a good value: \"my-data-bucket\" or \"logs-bucket,archive-bucket\""],
                 id="missing-bucket-and-its-typo-in-one-line"),
    pytest.param({"bucket": "", "Bucket": "my-bucket"},
                 ["Configuration key 'bucket': is required and was empty; 'Bucket' is not a configuration key: did "
                  "you mean 'bucket'? Example of a good value: \"my-data-bucket\" or \"logs-bucket,archive-bucket\""],
                 id="empty-bucket-and-capitalised-twin"),
    pytest.param({"buckte": "my-bucket", "prefx": "logs/", "zeta": "1"},
                 ["Configuration key 'bucket': is required; 'buckte' is not a configuration key: did you mean "
                  "'bucket'? Example of a good value: \"my-data-bucket\" or \"logs-bucket,archive-bucket\"",
                  "unknown configuration key 'prefx' is ignored; did you mean 'prefix'?",
                  "unknown configuration key 'zeta' is ignored"],
                 id="other-unknown-keys-listed-under-the-problems"),
    pytest.param({"bucket": "my-bucket", "max_concurrency": "many", "max_concurency": "8"},
                 ["Configuration key 'max_concurrency': must be a whole number, got 'many'; 'max_concurency' is not "
                  "a configuration key: did you mean 'max_concurrency'? Example of a good value: \"16\""],
                 id="bad-value-and-typo-of-the-same-key"),
])
def test_unknown_keys_are_named_in_the_error_they_help_explain(configuration, lines):
    with pytest.raises(ConfigurationError) as raised:
        parse_configuration(configuration)
    assert str(raised.value).splitlines() == lines


def test_value_of_a_mistyped_secret_key_is_kept_secret_too():
    """A secret under a mistyped key ('aws_secret_acess_key') and pasted into another key is still hidden."""
    with pytest.raises(ConfigurationError) as raised:
        parse_configuration({"bucket": f"my-bucket/{SECRET}", "aws_secret_acess_key": SECRET,
                             "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE"})
    message = str(raised.value)
    assert SECRET not in message and "(value hidden)" in message
    assert "did you mean 'aws_secret_access_key'?" in message


@pytest.mark.parametrize("prefix, patterns, expected_prefixes", [
    pytest.param("logs/", "logs/2024/**/*.gz", ("logs/",), id="pattern-inside-prefix"),
    pytest.param("logs/2024/", "logs/**", ("logs/2024/",), id="pattern-wider-than-prefix"),
    pytest.param("", "**/*.gz", ("",), id="no-prefix-wildcard-pattern"),
    pytest.param("logs/,raw/", "raw/*.csv", ("logs/", "raw/"), id="one-prefix-matched-is-enough"),
    # A pattern starting with a wildcard has an empty literal part, which never conflicts with a prefix.
    pytest.param("logs/", "**/*.gz", ("logs/",), id="pattern-starting-with-wildcard"),
])
def test_include_patterns_compatible_with_prefixes(prefix, patterns, expected_prefixes):
    settings = parse_configuration({"bucket": "my-bucket", "prefix": prefix, "include_patterns": patterns})
    assert settings.prefixes == expected_prefixes


# ---------------------------------------------------------------------------------------------------- errors

@pytest.mark.parametrize("configuration, key, problem", [
    # bucket
    pytest.param({"bucket": ""}, "bucket", "is required and was empty", id="bucket-empty"),
    pytest.param({"prefix": "logs/"}, "bucket", "is required. Example", id="bucket-missing"),
    pytest.param({"bucket": "a-bucket,,b-bucket"}, "bucket", "has an empty entry", id="bucket-empty-entry"),
    pytest.param({"bucket": "a-bucket,"}, "bucket", "has an empty entry", id="bucket-trailing-comma"),
    pytest.param({"bucket": "s3://my-bucket"}, "bucket", "is not a bare bucket name", id="bucket-s3-url"),
    pytest.param({"bucket": "S3://my-bucket"}, "bucket", "is not a bare bucket name", id="bucket-s3-url-upper"),
    pytest.param({"bucket": "arn:aws:s3:::my-bucket"}, "bucket", "is not a bare bucket name", id="bucket-arn"),
    pytest.param({"bucket": "https://my-bucket.s3.amazonaws.com"}, "bucket", "is not a bare bucket name",
                 id="bucket-https-url"),
    pytest.param({"bucket": "http://localhost:9000/b"}, "bucket", "is not a bare bucket name",
                 id="bucket-http-url"),
    pytest.param({"bucket": "my-bucket/logs"}, "bucket", "put any folder in 'prefix'", id="bucket-with-folder"),
    pytest.param({"bucket": "ab"}, "bucket", "is not a valid S3 bucket name", id="bucket-too-short"),
    pytest.param({"bucket": "a" * 256}, "bucket", "is not a valid S3 bucket name", id="bucket-too-long"),
    pytest.param({"bucket": "-bucket"}, "bucket", "is not a valid S3 bucket name", id="bucket-leading-dash"),
    pytest.param({"bucket": "bucket."}, "bucket", "is not a valid S3 bucket name", id="bucket-trailing-dot"),
    pytest.param({"bucket": "my..bucket"}, "bucket", "is not a valid S3 bucket name", id="bucket-double-dot"),
    pytest.param({"bucket": "my bucket"}, "bucket", "is not a valid S3 bucket name", id="bucket-inner-space"),
    pytest.param({"bucket": "good-bucket,b@d"}, "bucket", "is not a valid S3 bucket name",
                 id="bucket-second-entry-bad"),
    # prefix
    pytest.param({"bucket": "my-bucket", "prefix": "s3://my-bucket/logs/"}, "prefix", "is a URL",
                 id="prefix-s3-url"),
    pytest.param({"bucket": "my-bucket", "prefix": "a\ud800"}, "prefix", "is not valid Unicode text",
                 id="prefix-lone-surrogate"),
    pytest.param({"bucket": "my-bucket", "prefix": "logs/,s3://my-bucket/raw/"}, "prefix", "is a URL",
                 id="prefix-second-entry-url"),
    # patterns
    pytest.param({"bucket": "my-bucket", "include_patterns": "**/*.gz,,*.csv"}, "include_patterns",
                 "has an empty pattern", id="include-empty-entry"),
    pytest.param({"bucket": "my-bucket", "exclude_patterns": "**/*.tmp,"}, "exclude_patterns",
                 "has an empty pattern", id="exclude-trailing-comma"),
    pytest.param({"bucket": "my-bucket", "prefix": "logs/", "include_patterns": "raw/**"}, "include_patterns",
                 "can match a key under the prefixes", id="include-disjoint-from-prefix"),
    pytest.param({"bucket": "my-bucket", "prefix": "logs/,raw/", "include_patterns": "curated/*.parquet,tmp/**"},
                 "include_patterns", "can match a key under the prefixes", id="include-disjoint-from-all-prefixes"),
    pytest.param({"bucket": "my-bucket", "prefix": "logs/2024/", "include_patterns": "logs/2023/**"},
                 "include_patterns", "prefix included", id="include-sibling-of-prefix"),
    # numbers
    pytest.param({"bucket": "my-bucket", "max_concurrency": "0"}, "max_concurrency", "must be between 1 and 128",
                 id="concurrency-zero"),
    pytest.param({"bucket": "my-bucket", "max_concurrency": "129"}, "max_concurrency",
                 "must be between 1 and 128", id="concurrency-too-high"),
    pytest.param({"bucket": "my-bucket", "max_concurrency": "-3"}, "max_concurrency",
                 "must be between 1 and 128", id="concurrency-negative"),
    pytest.param({"bucket": "my-bucket", "max_concurrency": "8.5"}, "max_concurrency", "must be a whole number",
                 id="concurrency-fraction"),
    pytest.param({"bucket": "my-bucket", "max_concurrency": "sixteen"}, "max_concurrency",
                 "must be a whole number", id="concurrency-word"),
    pytest.param({"bucket": "my-bucket", "max_concurrency": "nan"}, "max_concurrency", "must be a whole number",
                 id="concurrency-nan"),
    pytest.param({"bucket": "my-bucket", "range_size": "9"}, "range_size", "must be between 10 and 100000",
                 id="range-size-too-small"),
    pytest.param({"bucket": "my-bucket", "range_size": "100001"}, "range_size", "must be between 10 and 100000",
                 id="range-size-too-large"),
    pytest.param({"bucket": "my-bucket", "range_size": "1e3"}, "range_size", "must be a whole number",
                 id="range-size-exponent"),
    pytest.param({"bucket": "my-bucket", "lookback_minutes": "-1"}, "lookback_minutes",
                 "must be between 0 and 527040", id="lookback-negative"),
    pytest.param({"bucket": "my-bucket", "lookback_minutes": "527040.5"}, "lookback_minutes",
                 "must be between 0 and 527040", id="lookback-too-large"),
    # NaN compares false with everything, so a plain range check would let it through.
    pytest.param({"bucket": "my-bucket", "lookback_minutes": "nan"}, "lookback_minutes", "must be between",
                 id="lookback-nan"),
    pytest.param({"bucket": "my-bucket", "lookback_minutes": "NaN"}, "lookback_minutes", "must be between",
                 id="lookback-nan-capitalised"),
    pytest.param({"bucket": "my-bucket", "lookback_minutes": "inf"}, "lookback_minutes", "must be between",
                 id="lookback-infinity"),
    pytest.param({"bucket": "my-bucket", "lookback_minutes": "an hour"}, "lookback_minutes", "must be a number",
                 id="lookback-words"),
    pytest.param({"bucket": "my-bucket", "lookback_minutes": "60m"}, "lookback_minutes", "must be a number",
                 id="lookback-with-unit"),
    # endpoint
    pytest.param({"bucket": "my-bucket", "endpoint_url": "localhost:9000"}, "endpoint_url",
                 "has no scheme; start it with http:// or https://", id="endpoint-no-scheme"),
    pytest.param({"bucket": "my-bucket", "endpoint_url": "ftp://example.com"}, "endpoint_url",
                 "does not start with http:// or https://", id="endpoint-ftp"),
    pytest.param({"bucket": "my-bucket", "endpoint_url": "http://"}, "endpoint_url", "has no host",
                 id="endpoint-no-host"),
    # region
    pytest.param({"bucket": "my-bucket", "aws_region": "US-EAST-1"}, "aws_region", "is not a region name",
                 id="region-uppercase"),
    pytest.param({"bucket": "my-bucket", "aws_region": "us east 1"}, "aws_region", "is not a region name",
                 id="region-spaces"),
    pytest.param({"bucket": "my-bucket", "aws_region": "us_east_1"}, "aws_region", "is not a region name",
                 id="region-underscores"),
    pytest.param({"bucket": "my-bucket", "aws_region": "s3.us-east-1.amazonaws.com"}, "aws_region",
                 "is not a region name", id="region-is-a-hostname"),
    pytest.param({"bucket": "my-bucket", "aws_region": "us-east-1-"}, "aws_region", "is not a region name",
                 id="region-trailing-dash"),
    # restore source, versions, reconciliation, events
    pytest.param({"bucket": "my-bucket", "restore_status_source": "both"}, "restore_status_source",
                 "must be one of auto, listing, head", id="restore-source-unknown"),
    pytest.param({"bucket": "my-bucket", "sync_versions": "maybe"}, "sync_versions", "must be true or false",
                 id="versions-maybe"),
    pytest.param({"bucket": "my-bucket", "sync_versions": "2"}, "sync_versions", "must be true or false",
                 id="versions-two"),
    pytest.param({"bucket": "my-bucket", "reconcile_every_hours": "0.5"}, "reconcile_every_hours",
                 "must be at least 6 (or 0 or empty to turn reconciliation off), got 0.5: every reconciliation lists "
                 "the whole bucket and re-sends every row", id="reconcile-too-often"),
    pytest.param({"bucket": "my-bucket", "reconcile_every_hours": "5.99"}, "reconcile_every_hours",
                 "monthly active row", id="reconcile-just-under-the-minimum"),
    pytest.param({"bucket": "my-bucket", "reconcile_every_hours": "0.0002"}, "reconcile_every_hours",
                 "must be at least 6", id="reconcile-every-second"),
    pytest.param({"bucket": "my-bucket", "reconcile_every_hours": "-1"}, "reconcile_every_hours",
                 "must be between 0 and 8784", id="reconcile-negative"),
    pytest.param({"bucket": "my-bucket", "reconcile_every_hours": "8785"}, "reconcile_every_hours",
                 "must be between 0 and 8784", id="reconcile-too-large"),
    pytest.param({"bucket": "my-bucket", "reconcile_every_hours": "nan"}, "reconcile_every_hours",
                 "must be between", id="reconcile-nan"),
    pytest.param({"bucket": "my-bucket", "reconcile_every_hours": "daily"}, "reconcile_every_hours",
                 "must be a number", id="reconcile-words"),
    pytest.param({"bucket": "my-bucket", "sqs_queue_url": "arn:aws:sqs:us-east-1:123456789012:s3-events"},
                 "sqs_queue_url", "is not an SQS queue URL (the queue's URL, not its ARN)", id="queue-arn"),
    pytest.param({"bucket": "my-bucket", "sqs_queue_url": "https://sqs.us-east-1.amazonaws.com/s3-events"},
                 "sqs_queue_url", "is not an SQS queue URL", id="queue-url-without-account"),
    pytest.param({"bucket": "my-bucket", "sqs_queue_url": "s3-events"}, "sqs_queue_url", "has no scheme",
                 id="queue-name-only"),
    pytest.param({"bucket": "my-bucket", "event_max_messages": "0"}, "event_max_messages",
                 "must be between 1 and", id="event-messages-zero"),
    pytest.param({"bucket": "my-bucket", "event_max_messages": "10000001"}, "event_max_messages",
                 "must be between", id="event-messages-too-many"),
    pytest.param({"bucket": "my-bucket", "event_max_messages": "1e5"}, "event_max_messages",
                 "must be a whole number", id="event-messages-exponent"),
    pytest.param({"bucket": "my-bucket", "event_time_budget_seconds": "9.9"}, "event_time_budget_seconds",
                 "must be between 10 and 86400", id="budget-too-short"),
    pytest.param({"bucket": "my-bucket", "event_time_budget_seconds": "86401"}, "event_time_budget_seconds",
                 "must be between 10 and 86400", id="budget-too-long"),
    pytest.param({"bucket": "my-bucket", "event_time_budget_seconds": "NaN"}, "event_time_budget_seconds",
                 "must be between", id="budget-nan"),
    # credentials
    pytest.param({"bucket": "my-bucket", "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE"}, "aws_secret_access_key",
                 "is empty but aws_access_key_id is set", id="key-id-without-secret"),
    pytest.param({"bucket": "my-bucket", "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
                  "aws_secret_access_key": ""}, "aws_secret_access_key", "give both or neither",
                 id="key-id-with-empty-secret"),
    pytest.param({"bucket": "my-bucket", "aws_secret_access_key": SECRET}, "aws_access_key_id",
                 "is empty but aws_secret_access_key is set", id="secret-without-key-id"),
    pytest.param({"bucket": "my-bucket", "aws_session_token": TOKEN}, "aws_session_token",
                 "is only used with aws_access_key_id and aws_secret_access_key", id="token-without-keys"),
    pytest.param({"bucket": "my-bucket", "aws_access_key_id": "AKIA IOSFODNN7EXAMPLE",
                  "aws_secret_access_key": SECRET}, "aws_access_key_id", "check for stray spaces",
                 id="key-id-inner-space"),
    pytest.param({"bucket": "my-bucket", "aws_access_key_id": '"AKIAIOSFODNN7EXAMPLE"',
                  "aws_secret_access_key": SECRET}, "aws_access_key_id", "check for stray spaces, quotes",
                 id="key-id-quoted"),
    pytest.param({"bucket": "my-bucket", "aws_access_key_id": "wJalrXUtnFEMI/K7MDENG", "aws_secret_access_key": SECRET},
                 "aws_access_key_id", "a pasted secret", id="key-id-looks-like-a-secret"),
    # role
    pytest.param({"bucket": "my-bucket", "role_arn": "my-role"}, "role_arn", "is not an IAM role ARN",
                 id="role-name-not-arn"),
    pytest.param({"bucket": "my-bucket", "role_arn": "arn:aws:iam::12345:role/r"}, "role_arn",
                 "is not an IAM role ARN", id="role-short-account"),
    pytest.param({"bucket": "my-bucket", "role_arn": "arn:aws:iam::123456789012:user/alice"}, "role_arn",
                 "is not an IAM role ARN", id="user-arn-not-role"),
    pytest.param({"bucket": "my-bucket", "role_arn": "arn:aws:s3:::my-bucket"}, "role_arn",
                 "is not an IAM role ARN", id="bucket-arn-as-role"),
    pytest.param({"bucket": "my-bucket", "external_id": EXTERNAL_ID}, "external_id",
                 "is only used together with role_arn", id="external-id-without-role"),
    pytest.param({"bucket": "my-bucket", "role_session_name": "session"}, "role_session_name",
                 "is only used together with role_arn", id="session-name-without-role"),
    pytest.param({"bucket": "my-bucket", "role_arn": ROLE_ARN, "external_id": "x"}, "external_id",
                 "must be 2 to 1224 characters long", id="external-id-too-short"),
    pytest.param({"bucket": "my-bucket", "role_arn": ROLE_ARN, "external_id": "x" * 1225}, "external_id",
                 "must be 2 to 1224 characters long", id="external-id-too-long"),
    pytest.param({"bucket": "my-bucket", "role_arn": ROLE_ARN, "role_session_name": "s"}, "role_session_name",
                 "must be 2 to 64 letters", id="session-name-too-short"),
    pytest.param({"bucket": "my-bucket", "role_arn": ROLE_ARN, "role_session_name": "s" * 65},
                 "role_session_name", "must be 2 to 64 letters", id="session-name-too-long"),
    pytest.param({"bucket": "my-bucket", "role_arn": ROLE_ARN, "role_session_name": "my session"},
                 "role_session_name", "must be 2 to 64 letters", id="session-name-with-space"),
    pytest.param({"bucket": "my-bucket", "object_details": "acl"}, "object_details", "'acl' is not one of head, tags",
                 id="details-unknown"),
    pytest.param({"bucket": "my-bucket", "object_details": "head,lock,acl"}, "object_details",
                 "'lock', 'acl' are not one of head, tags", id="details-several-unknown"),
    pytest.param({"bucket": "my-bucket", "object_details": "head,,tags"}, "object_details",
                 "'' is not one of head, tags", id="details-empty-entry"),
    pytest.param({"bucket": "my-bucket", "object_details": "true"}, "object_details", "'true' is not one of",
                 id="details-flag-instead-of-choice"),
])
def test_errors(configuration, key, problem):
    expect_error(configuration, key, problem)


# ------------------------------------------------------------------------------------ bucket names (S3's rules)

@pytest.mark.parametrize("name", [
    pytest.param("abc", id="shortest"),
    pytest.param("a" * 63, id="longest"),
    pytest.param("my.data-bucket.2024", id="dots-and-dashes"),
    pytest.param("1bucket9", id="digits-at-the-ends"),
    pytest.param("192.168.5.4x", id="almost-an-ip-address"),
    pytest.param("xn-single-dash", id="xn-with-one-dash"),
    pytest.param("my-sthree-bucket", id="reserved-prefix-inside"),
    pytest.param("s3alias-bucket", id="reserved-suffix-at-the-start"),
    pytest.param("amzn-s3-demo", id="reserved-prefix-without-its-dash"),
    pytest.param("logs-111122223333-us-west-2-an", id="account-regional-namespace"),
])
def test_valid_bucket_names(name):
    assert parse_configuration({"bucket": name}).buckets == (name,)


CHARACTERS = "bucket names hold only lowercase letters, digits, '.' and '-'"


@pytest.mark.parametrize("name, why", [
    pytest.param("ab", "it has 2 characters, and bucket names have 3 to 63", id="too-short"),
    pytest.param("a" * 64, "it has 64 characters, and bucket names have 3 to 63", id="too-long"),
    pytest.param("Legacy.Bucket", CHARACTERS, id="uppercase"),
    pytest.param("my_bucket", CHARACTERS, id="underscore"),
    pytest.param("my bucket", CHARACTERS, id="inner-space"),
    pytest.param("b@d", CHARACTERS, id="at-sign"),
    pytest.param("caf\u00e9-bucket", CHARACTERS, id="accented-letter"),
    pytest.param("-bucket", "bucket names begin and end with a letter or digit", id="leading-dash"),
    pytest.param("bucket.", "bucket names begin and end with a letter or digit", id="trailing-dot"),
    pytest.param(".bucket", "bucket names begin and end with a letter or digit", id="leading-dot"),
    pytest.param("my..bucket", "bucket names never hold two dots in a row", id="two-dots"),
    pytest.param("192.168.5.4", "bucket names are never shaped like an IP address", id="ip-address"),
    pytest.param("10.0.0.1", "bucket names are never shaped like an IP address", id="short-ip-address"),
    pytest.param("xn--bucket", "S3 reserves names starting with 'xn--'", id="punycode-prefix"),
    pytest.param("sthree-bucket", "S3 reserves names starting with 'sthree-'", id="sthree-prefix"),
    pytest.param("sthree-configurator-x", "S3 reserves names starting with 'sthree-'", id="sthree-configurator"),
    pytest.param("amzn-s3-demo-bucket", "S3 reserves names starting with 'amzn-s3-demo-'", id="demo-prefix"),
    pytest.param("my-ap-abc123-s3alias", "S3 reserves names ending with '-s3alias' for access point aliases",
                 id="access-point-alias"),
    pytest.param("my-olap-abc--ol-s3", "S3 reserves names ending with '--ol-s3' for Object Lambda access point "
                 "aliases", id="object-lambda-alias"),
    pytest.param("abcdef.mrap", "S3 reserves names ending with '.mrap' for Multi-Region Access Points",
                 id="multi-region-access-point"),
    pytest.param("tables--table-s3", "S3 reserves names ending with '--table-s3' for S3 Tables table buckets",
                 id="table-bucket"),
])
def test_invalid_bucket_names_say_which_rule(name, why):
    error = expect_error({"bucket": name}, "bucket", f"is not a valid S3 bucket name: {why}")
    assert repr(name)[:-1] in str(error) if len(name) <= 40 else repr(name[:40]) in str(error)


def test_directory_buckets_keep_their_own_message():
    expect_error({"bucket": "my-bucket--usw2-az1--x-s3"}, "bucket", "is an S3 Express directory bucket, whose "
                 "listings are not in key order")


def test_every_bad_bucket_of_a_list_is_named():
    error = expect_error({"bucket": "good-bucket,Bad_One,ab,good-bucket-2"}, "bucket", "'Bad_One'")
    assert [p.key for p in error.problems] == ["bucket", "bucket"]
    assert "'ab'" in error.problems[1].problem


# ------------------------------------------------------------------------------ endpoint_url and sqs_queue_url

@pytest.mark.parametrize("url, expected", [
    pytest.param("http://localhost:9000", "http://localhost:9000", id="local"),
    pytest.param("https://abc.r2.cloudflarestorage.com/", "https://abc.r2.cloudflarestorage.com", id="r2"),
    pytest.param("HTTP://MinIO.internal:9000", "HTTP://MinIO.internal:9000", id="upper-case-scheme-and-host"),
    pytest.param("http://[::1]:9000", "http://[::1]:9000", id="ipv6"),
    pytest.param("http://[fe80::1%25eth0]:9000", "http://[fe80::1%25eth0]:9000", id="ipv6-with-zone"),
    pytest.param("http://[2001:db8::7]", "http://[2001:db8::7]", id="ipv6-no-port"),
    pytest.param("http://10.0.0.5:65535", "http://10.0.0.5:65535", id="highest-port"),
    pytest.param("http://host:1", "http://host:1", id="lowest-port"),
    pytest.param("http://minio.:9000", "http://minio.:9000", id="fully-qualified-trailing-dot"),
    pytest.param("http://xn--bcher-kva.example", "http://xn--bcher-kva.example", id="punycode-host"),
])
def test_valid_endpoint_urls(url, expected):
    assert parse_configuration({"bucket": "my-bucket", "endpoint_url": url}).endpoint_url == expected


URL_PROBLEMS = [
    pytest.param("http://host:abc", "has a port that is not a number", id="port-letters"),
    pytest.param("http://host:+80", "has a port that is not a number", id="port-with-sign"),
    pytest.param("http://host:\uff18\uff10", "outside ASCII", id="port-full-width-digits"),
    pytest.param("http://host:99999", "has the port 99999, outside 1 to 65535", id="port-too-high"),
    pytest.param("http://host:0", "has the port 0, outside 1 to 65535", id="port-zero"),
    pytest.param("http://host:123456789012345678901234567890", "outside 1 to 65535", id="port-huge"),
    pytest.param("http://host:", "ends its host with ':' but gives no port", id="port-empty"),
    pytest.param("http://[::1", "has misplaced brackets", id="bracket-unclosed"),
    pytest.param("http://::1]:9000", "has misplaced brackets", id="bracket-unopened"),
    pytest.param("http://a[::1]:9000", "has misplaced brackets", id="bracket-after-text"),
    pytest.param("http://[::1]9000", "has misplaced brackets", id="bracket-then-port-without-colon"),
    pytest.param("http://[[::1]]:9000", "has misplaced brackets", id="brackets-doubled"),
    pytest.param("http://[minio]:9000", "brackets that do not hold an IPv6 address", id="bracketed-name"),
    pytest.param("http://::1:9000", "holds an IPv6 address without brackets", id="ipv6-without-brackets"),
    pytest.param("http://my_minio:9000", "has a host name that is not valid", id="underscore-host"),
    pytest.param("http://-minio:9000", "has a host name that is not valid", id="host-leading-dash"),
    pytest.param("http://b\u00fccher.example", "outside ASCII", id="unicode-host"),
    pytest.param("http://mini o:9000", "contains a space or a control character", id="inner-space"),
    pytest.param("http://minio\t:9000", "contains a space or a control character", id="tab"),
    pytest.param("http://minio:9000\x00", "contains a space or a control character", id="nul"),
    pytest.param("http://minio\u200b:9000", "contains a space or a control character", id="zero-width-space"),
    pytest.param("http://host:9000?x=1", "has a query string or fragment", id="query"),
    pytest.param("http://host:9000#top", "has a query string or fragment", id="fragment"),
    pytest.param("http://AKIAEXAMPLE:wJalr/XUt@host:9000", "contains credentials (user:password@)",
                 id="user-info"),
    pytest.param("ftp://host", "does not start with http:// or https://", id="ftp"),
    pytest.param("s3://my-bucket", "does not start with http:// or https://", id="s3-url"),
    pytest.param("host:9000", "has no scheme", id="no-scheme"),
    pytest.param("//host:9000", "has no scheme", id="scheme-relative"),
    pytest.param("http:///path", "has no host", id="no-host"),
    pytest.param("http://" + "a" * 3000, "characters long, more than any endpoint URL", id="huge"),
]


@pytest.mark.parametrize("url, problem", URL_PROBLEMS)
def test_bad_endpoint_urls_are_refused_before_any_request(url, problem):
    expect_error({"bucket": "my-bucket", "endpoint_url": url}, "endpoint_url", problem)


@pytest.mark.parametrize("url, problem", URL_PROBLEMS)
def test_bad_queue_urls_are_refused_before_any_request(url, problem):
    expect_error({"bucket": "my-bucket", "sqs_queue_url": url.replace(":9000", ":9000/123456789012/q")},
                 "sqs_queue_url", problem)


@pytest.mark.parametrize("url", [
    pytest.param("http://localhost:9000/minio", id="path"),
    pytest.param("http://localhost:9000/my-bucket/", id="bucket-in-the-url"),
    pytest.param("https://s3.amazonaws.com/my-bucket/logs", id="bucket-and-folder"),
])
def test_endpoint_url_with_a_path_is_refused_and_says_why(url):
    expect_error({"bucket": "my-bucket", "endpoint_url": url}, "endpoint_url",
                 "which is not supported: S3-compatible stores serve the S3 API at the root of their host, and "
                 "botocore would put the path in front of every bucket name")


@pytest.mark.parametrize("url", [
    pytest.param("https://sqs.eu-west-1.amazonaws.com/123456789012/s3-events", id="aws"),
    pytest.param("https://sqs.eu-west-1.amazonaws.com/123456789012/s3-events.fifo", id="fifo"),
    pytest.param("http://localhost:9324/queue/s3-events", id="elasticmq"),
    pytest.param("http://[::1]:9324/000000000000/q", id="ipv6"),
])
def test_valid_queue_urls(url):
    assert parse_configuration({"bucket": "my-bucket", "sqs_queue_url": url}).sqs_queue_url == url


# -------------------------------------------------------------------------------------------------- warnings

@pytest.mark.parametrize("configuration, expected", [
    pytest.param({}, [], id="none"),
    pytest.param({"prefix": "/logs/"}, ["prefix '/logs/' starts with '/': S3 keys almost never start with '/'"],
                 id="prefix-with-leading-slash"),
    pytest.param({"prefix": "logs/,/raw/"}, ["prefix '/raw/' starts with '/'"], id="second-prefix-with-slash"),
    pytest.param({"include_patterns": "/logs/*.gz"},
                 ["include_patterns '/logs/*.gz' starts with '/'", "so it matches nothing unless"],
                 id="include-with-leading-slash"),
    pytest.param({"exclude_patterns": "/tmp/**"},
                 ["exclude_patterns '/tmp/**' starts with '/'", "so it excludes nothing unless"],
                 id="exclude-with-leading-slash"),
    pytest.param({"exclude_patterns": "**"}, ["exclude_patterns: no key in the bucket can be synced"],
                 id="exclude-everything"),
    pytest.param({"exclude_patterns": "**/*"}, ["no key in the bucket can be synced"],
                 id="exclude-everything-written-differently"),
    pytest.param({"prefix": "logs/", "exclude_patterns": "logs/**"},
                 ["no key under the prefix 'logs/' can be synced"], id="exclude-the-whole-prefix"),
    pytest.param({"prefix": "logs/,tmp/", "exclude_patterns": "tmp/**"},
                 ["no key under the prefix 'tmp/' can be synced"], id="exclude-one-whole-prefix"),
    pytest.param({"include_patterns": "**/*.gz", "exclude_patterns": "**/*.gz"},
                 ["no key in the bucket can be synced"], id="include-equals-exclude"),
    pytest.param({"include_patterns": "logs/*.gz,**/*.csv", "exclude_patterns": "logs/**"},
                 ["include_patterns 'logs/*.gz' selects nothing: every key it matches also matches an exclude "
                  "pattern"], id="include-shadowed-by-exclude"),
    pytest.param({"include_patterns": "**/*.gz", "exclude_patterns": "**/_temporary/**,**/*.tmp"}, [],
                 id="ordinary-patterns"),
    pytest.param({"endpoint_url": "http://localhost:9000", "restore_status_source": "listing"},
                 ["restore_status_source is 'listing' while endpoint_url is set", "archived forever"],
                 id="listing-restore-status-on-s3-compatible-store"),
    pytest.param({"endpoint_url": "http://localhost:9000", "restore_status_source": "auto"}, [],
                 id="auto-restore-status-on-s3-compatible-store"),
    pytest.param({"restore_status_source": "listing"}, [], id="listing-restore-status-on-aws"),
])
def test_warnings(configuration, expected):
    """Valid, but almost certainly not what was meant: each warning names the key and the value."""
    warnings = parse_configuration({"bucket": "my-bucket", **configuration}).warnings
    assert len(warnings) == (1 if expected else 0), warnings
    for part in expected:
        assert part in warnings[0]


def test_warnings_do_not_change_equality_of_plain_settings():
    assert parse_configuration({"bucket": "my-bucket"}).warnings == ()


NON_STRING_VALUES = [(["my-bucket"], "list"), ({"name": "my-bucket"}, "dict"), (True, "bool"), (b"my-bucket", "bytes")]


@pytest.mark.parametrize("key, value", [
    pytest.param(key, value, id=f"{key}-{name}")
    for key in sorted(KNOWN_KEYS) for value, name in NON_STRING_VALUES
    # a JSON true/false is a valid value for an on/off key (tested in test_single_values)
    if not (key in FLAG_KEYS and isinstance(value, bool))
])
def test_non_string_value_is_rejected_for_every_key(key, value):
    configuration = {"bucket": "my-bucket", key: value}
    expect_error(configuration, key, f"must be a string, got {type(value).__name__}")


@pytest.mark.parametrize("key", sorted(KNOWN_KEYS))
def test_unfilled_placeholder_is_rejected_for_every_key(key):
    """Copying configuration.json.example without filling in `<YOUR_...>` must fail naming that key. The
    placeholder is shown, except for keys whose value is secret (or, for the key ID, may be): never shown."""
    configuration = {"bucket": "my-bucket", key: PLACEHOLDERS[key]}
    error = expect_error(configuration, key, "still holds the placeholder")
    shown = key not in SECRET_KEYS and key != "aws_access_key_id"
    assert (PLACEHOLDERS[key] in str(error)) is shown


@pytest.mark.parametrize("key, value", [
    pytest.param("aws_region", "<YOUR_AWS_REGION>", id="region"),
    pytest.param("bucket", " <YOUR_S3_BUCKET_NAME> ", id="bucket-with-spaces"),
    pytest.param("aws_access_key_id", "<YOUR_AWS_ACCESS_KEY_ID>", id="key-id"),
    pytest.param("aws_secret_access_key", "<YOUR_AWS_SECRET_ACCESS_KEY>", id="secret"),
])
def test_fivetran_style_placeholders(key, value):
    configuration = {"bucket": "my-bucket", "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
                     "aws_secret_access_key": SECRET, key: value}
    expect_error(configuration, key, "still holds the placeholder")


@pytest.mark.parametrize("value", [
    pytest.param("<a><b>", id="two-angle-groups"),
    pytest.param("x<y>", id="angle-group-inside"),
])
def test_angle_brackets_that_are_not_a_placeholder_are_values(value):
    """Only a whole value of the form <...> is a placeholder; a secret may contain angle brackets."""
    settings = parse_configuration({"bucket": "my-bucket", "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
                                    "aws_secret_access_key": value})
    assert settings.aws_secret_access_key == value


@pytest.mark.parametrize("configuration", [
    pytest.param(["bucket", "my-bucket"], id="list"),
    pytest.param("bucket=my-bucket", id="string"),
    pytest.param(42, id="number"),
])
def test_configuration_that_is_not_an_object(configuration):
    expect_error(configuration, "configuration", "must be a JSON object")


@pytest.mark.parametrize("configuration", [
    pytest.param({"bucket": "my-bucket", "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
                  "aws_secret_access_key": SECRET, "aws_region": "Not A Region"}, id="bad-region"),
    pytest.param({"bucket": "my-bucket", "aws_secret_access_key": SECRET, "aws_session_token": TOKEN},
                 id="secret-without-key-id"),
    pytest.param({"bucket": "my-bucket", "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
                  "aws_secret_access_key": SECRET, "aws_session_token": TOKEN, "role_arn": ROLE_ARN,
                  "external_id": EXTERNAL_ID, "role_session_name": "x"}, id="bad-session-name"),
    pytest.param({"bucket": "my-bucket", "role_arn": "arn:aws:iam::1:role/r", "external_id": EXTERNAL_ID},
                 id="bad-role-arn"),
])
def test_error_messages_never_contain_secret_values(configuration):
    with pytest.raises(ConfigurationError) as caught:
        parse_configuration(configuration)
    message = str(caught.value)
    for secret in (SECRET, TOKEN, EXTERNAL_ID):
        assert secret not in message


# ---------------------------------------------------------------------------------------------------- secrets

def test_settings_repr_and_str_never_show_secrets():
    settings = parse_configuration(FULL_CONFIGURATION)
    for text in (repr(settings), str(settings), f"{settings}", f"{settings!r}"):
        assert SECRET not in text
        assert TOKEN not in text
        assert EXTERNAL_ID not in text
        # The non-secret values stay visible, so the repr is still useful in a traceback.
        assert "AKIAIOSFODNN7EXAMPLE" in text
        assert ROLE_ARN in text
        assert "data-bucket" in text


def test_settings_inside_a_container_repr_never_shows_secrets():
    """A Settings logged as part of a tuple or dict goes through the same repr."""
    settings = parse_configuration(FULL_CONFIGURATION)
    text = repr({"settings": [settings]})
    assert SECRET not in text and TOKEN not in text and EXTERNAL_ID not in text


@pytest.mark.parametrize("configuration, expected", [
    pytest.param(FULL_CONFIGURATION, (SECRET, TOKEN, EXTERNAL_ID), id="all-secrets"),
    pytest.param({"bucket": "my-bucket"}, (), id="no-secrets"),
    pytest.param({"bucket": "my-bucket", "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
                  "aws_secret_access_key": SECRET}, (SECRET,), id="secret-only"),
])
def test_secret_values(configuration, expected):
    assert parse_configuration(configuration).secret_values() == expected


# ------------------------------------------------------------------------------------- once-found bugs

@pytest.mark.parametrize("prefix", [
    pytest.param("logs/,", id="trailing-comma"),
    pytest.param("logs/,,raw/", id="empty-middle-entry"),
])
def test_empty_prefix_entry_does_not_widen_to_whole_bucket(prefix):
    try:
        settings = parse_configuration({"bucket": "my-bucket", "prefix": prefix})
    except ConfigurationError as error:
        assert error.key == "prefix"
        return
    assert "" not in settings.prefixes


def test_include_pattern_written_relative_to_prefix_is_rejected():
    expect_error({"bucket": "my-bucket", "prefix": "logs/", "include_patterns": "*.gz"}, "include_patterns",
                 "can match a key under the prefixes")


@pytest.mark.parametrize("key_id", [
    pytest.param("testing", id="moto"),
    pytest.param("test", id="localstack"),
    pytest.param("minioadmin", id="minio"),
    pytest.param("AKIAIOSFODNN7EXAMPLE", id="aws"),
])
def test_short_key_ids_of_s3_compatible_stores_are_accepted(key_id):
    """S3-compatible stores (endpoint_url) use key IDs far shorter than AWS's 16 characters."""
    settings = parse_configuration({"bucket": "my-bucket", "aws_access_key_id": key_id, "aws_secret_access_key": "s"})
    assert settings.aws_access_key_id == key_id


@pytest.mark.parametrize("value, expected", [
    ("s3://inventory-bucket/inventory/b/daily", "s3://inventory-bucket/inventory/b/daily/"),
    ("Auto", "auto"), ("", None),
])
def test_inventory_source(value, expected):
    assert parse_configuration({"bucket": "my-bucket", "inventory_source": value}).inventory_source == expected


@pytest.mark.parametrize("value, problem", [
    ("inventory-bucket/inventory/", "is not an S3 location"),
    ("https://inventory-bucket.s3.amazonaws.com/inventory/", "is not an S3 location"),
    ("s3:///inventory/", "names no bucket"),
])
def test_inventory_source_that_is_no_location_is_refused(value, problem):
    expect_error({"bucket": "my-bucket", "inventory_source": value}, "inventory_source", problem)
