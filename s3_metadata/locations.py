"""`s3://bucket/prefix/` locations in the configuration (inventory_source), apart from inventory.py so that the
configuration can check one without importing what reads the reports."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where a configuration's reports are: the folder that holds its `YYYY-MM-DDTHH-MMZ/` folders and `data/`."""

    bucket: str
    prefix: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def parse_location(text: str) -> Location:
    """`s3://bucket/prefix/` as a Location; ValueError says what is wrong."""
    if not text.startswith("s3://"):
        raise ValueError("is not an S3 location: write it as s3://<destination-bucket>/<prefix>/, or auto")
    bucket, _, prefix = text[len("s3://"):].partition("/")
    if not bucket:
        raise ValueError("names no bucket: write it as s3://<destination-bucket>/<prefix>/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return Location(bucket, prefix)
