"""ListObjectsV2 and ListObjectVersions response bodies straight into plain values, without botocore's parser.

An incremental sync of an unchanged bucket lists every object and sends nothing, so its cost is the listing's
CPU. botocore spends most of that in its generic response parsing: it parses every 200 body twice (once to see
whether it is an `<Error>` in disguise), builds ~8,000 ElementTree elements per page, walks the output shape
member by member, and builds a dict per object that the connector then maps again. On the benchmark's pages
(`bench/parse_cost.py`) that costs 107 µs of CPU per object, 34 with the connector's fast timestamp parser; this
module reads the same bodies into the same values for 5.6.

The contract is equivalence, not an approximation. `parse_objects_page` and `parse_versions_page` return exactly
what botocore's RestXMLParser, its url-decoding `after-call` handler and `rows.listed_object` give for the same
body, or None when the body is not in the subset of XML read here with certainty; the caller then lets botocore
parse it as it always did, and botocore's answer, or its error, stands. The subset: a UTF-8 document, an
optional XML declaration, the root element with at most an `xmlns`, and below it elements without attributes
whose text holds only XML's five predefined entities and character references, whitespace between elements
allowed. Comments, CDATA, a DOCTYPE, `\\r`, characters XML forbids, a truncated body, a repeated field, an empty
number or date, a nested element this module does not know, or an `<Error>` document all give None.
`tests/unit/test_listing_xml.py` holds both paths to the same values over a corpus of bodies.

Entries are read in two ways. First one regular expression over the whole run of entries, in the element order
S3 writes (`Owner` before or after `StorageClass`): about two thirds of this module's cost is building the values,
one third this match. When that does not account for every entry (another store's element order, whitespace
inside entries), each entry is read on its own, order-free, at about three times the cost; still a fraction of
botocore's.

Keys are url-decoded (`unquote_plus`, as botocore does) when the body says `<EncodingType>url</EncodingType>`;
botocore asks for that encoding on every listing it sends unless the caller sets EncodingType, which ours never
does.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from operator import itemgetter
from typing import Any, Callable, Optional
from urllib.parse import unquote_plus

from s3_metadata.restore import RestoreInfo, restore_from_listing
from s3_metadata.rows import ListedObject
from s3_metadata.timestamps import fast_timestamp_parser, to_utc

_UTC = timezone.utc
_WS = "[ \t\n]*"
_NAME = r"[A-Za-z][A-Za-z0-9_.-]*"
# An XML declaration may only open the document; whitespace may follow it.
_PROLOG = re.compile(
    r'(?:<\?xml version="1\.0"(?: encoding="[A-Za-z][A-Za-z0-9._-]*")?(?: standalone="(?:yes|no)")?' + _WS + r"\?>)?"
    + _WS + "<(" + _NAME + r')(?:[ \t\n]+xmlns="[^"<&]*")?' + _WS + ">")
# XML forbids these characters outright (and U+FFFE, U+FFFF, checked in the decoded text); `\r` is allowed but
# rewritten by XML's end-of-line handling, and `]]>` may not appear in text. Documents holding any of them are
# left to botocore. (`bytes.translate` finds them many times faster than a regular expression's character class.)
_FORBIDDEN_BYTES = bytes(range(0x09)) + b"\x0b\x0c" + bytes(range(0x0e, 0x20)) + b"\r"
_UNUSUAL_AMPERSAND = re.compile(r"&(?!(?:amp|lt|gt|quot|apos);)")
_BAD_AMPERSAND = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);)")
_ENTITY = re.compile(r"&(?:(amp|lt|gt|quot|apos)|#([0-9]+)|#x([0-9A-Fa-f]+));")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
# What may sit between the root's start tag and the entries, and after them: leaves (`<Name>v</Name>`,
# `<Marker/>`) and CommonPrefixes, with whitespace between.
_COMMON_PREFIX = re.compile(r"<CommonPrefixes>" + _WS + r"<Prefix>([^<]*)</Prefix>" + _WS + r"</CommonPrefixes>")
_LEAF = re.compile("<(" + _NAME + ")>([^<]*)</\\1>|<(" + _NAME + ")/>")
_OTHER_ITEMS = re.compile(
    "(?:" + _WS + "(?:<(" + _NAME + ")>[^<]*</\\1>|<" + _NAME + "/>|" + _COMMON_PREFIX.pattern + "))*" + _WS)
_INTEGER_LEAVES = frozenset({"MaxKeys", "KeyCount"})

# One entry's children in the order S3 writes them. Groups that need a value use `[^<]+`, so an empty element
# (which botocore reads as '' and `int('')` rejects) never matches and the entry is read the other way.
_OWNER = r"(?:<Owner>(?:<ID>[^<]*</ID>|<DisplayName>[^<]*</DisplayName>)*</Owner>)?"
_ENTRY_FIELDS = (
    r"<Key>([^<]*)</Key>"
    r"{version}"
    r"<LastModified>([^<]+)</LastModified>"
    r"(?:<ETag>([^<]*)</ETag>)?"
    r"((?:<ChecksumAlgorithm>[^<]+</ChecksumAlgorithm>)*)"
    r"(?:<ChecksumType>([^<]+)</ChecksumType>)?"
    r"(?:<Size>([^<]+)</Size>)?"
    + _OWNER +
    r"(?:<StorageClass>([^<]*)</StorageClass>)?"
    + _OWNER +
    r"(?:<RestoreStatus>(?:<IsRestoreInProgress>([^<]+)</IsRestoreInProgress>)?"
    r"(?:<RestoreExpiryDate>([^<]+)</RestoreExpiryDate>)?</RestoreStatus>)?"
)
# The first group of each is the whole entry with the whitespace before it, so that the entries found can be
# shown to cover the whole run (`_entries`).
_CONTENTS = re.compile("(" + _WS + "<Contents>" + _ENTRY_FIELDS.format(version="") + "</Contents>)")
_VERSION = re.compile(
    "(" + _WS + "<(Version|DeleteMarker)>"
    + _ENTRY_FIELDS.format(version=r"(?:<VersionId>([^<]*)</VersionId>)?(?:<IsLatest>([^<]*)</IsLatest>)?")
    + r"</\2>)")
_CHECKSUM_ALGORITHM = re.compile(r"<ChecksumAlgorithm>([^<]+)</ChecksumAlgorithm>")
_WHOLE = itemgetter(0)
_HEX_PAIRS = {a + b: chr(int(a + b, 16)) for a in "0123456789abcdefABCDEF" for b in "0123456789abcdefABCDEF"}

# The order-free reading of one entry: its known containers, then its leaves.
_ANY_ENTRY = re.compile("(" + _WS + r"<(Contents|Version|DeleteMarker)>(.*?)</\2>)", re.S)
_CONTAINER = re.compile("<(Owner|RestoreStatus)>((?:" + _WS + "<(" + _NAME + ")>[^<]*</\\3>)*)" + _WS + "</\\1>")
_PAIR = re.compile("<(" + _NAME + ")>([^<]*)</\\1>")
_RESTORE_CHILDREN = frozenset({"IsRestoreInProgress", "RestoreExpiryDate"})
# Fields botocore converts to numbers, dates or lists of values: '' is not a value for them.
_NEEDS_VALUE = frozenset({"LastModified", "Size", "ChecksumAlgorithm", "ChecksumType", "IsRestoreInProgress",
                          "RestoreExpiryDate"})


class _NotInSubset(Exception):
    """The body is outside what this module reads with certainty; botocore parses it instead.

    So does a value botocore cannot read either, which raises while it is read: a ValueError from int() or
    fromisoformat(), and from botocore's timestamp parser (reached through `_timestamp`) also an OverflowError, or
    a RuntimeError for an epoch number no datetime holds ("99999999999999999999")."""


@dataclass(frozen=True, slots=True)
class ListedVersion:
    """One `Version` or `DeleteMarker` of a ListObjectVersions page, as plain values.

    `version_id` is 'null' for a version written while versioning was off (S3 may also leave it out). A delete
    marker has no ETag, size, storage class, checksum or restore: those are None. The other fields follow
    `rows.listed_object`; `restore` is None unless RestoreStatus was requested.
    """

    key: str
    version_id: str
    is_latest: bool
    is_delete_marker: bool
    last_modified: datetime
    e_tag: Optional[str] = None
    size: Optional[int] = None
    storage_class: Optional[str] = None
    checksum_algorithm: Optional[str] = None
    checksum_type: Optional[str] = None
    restore: Optional[RestoreInfo] = None


@dataclass(frozen=True)
class ParsedObjects:
    """A ListObjectsV2 page: `next_token` is None unless the page is truncated (then it may be '')."""

    objects: list[ListedObject]
    common_prefixes: list[str]
    is_truncated: bool
    next_token: Optional[str]


@dataclass(frozen=True)
class ParsedVersions:
    """A ListObjectVersions page: versions and delete markers in the order of the body (key order)."""

    versions: list[ListedVersion]
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: Optional[str]
    next_version_marker: Optional[str]


def _constructor(cls: type) -> Callable[..., Any]:
    """A positional constructor for a frozen slots dataclass that skips its generated `__init__`.

    A frozen dataclass sets each field through `object.__setattr__`, which costs more than the rest of reading an
    entry; writing the slots directly gives the same, equal instance (every field is set, in order) for about a
    third of the CPU.
    """
    setters = [cls.__dict__[f.name].__set__ for f in fields(cls)]
    make = object.__new__
    if len(setters) == 9:  # ListedObject, once per listed object: written out
        s0, s1, s2, s3, s4, s5, s6, s7, s8 = setters

        def build9(v0: Any, v1: Any, v2: Any, v3: Any, v4: Any, v5: Any, v6: Any, v7: Any, v8: Any) -> Any:
            instance = make(cls)
            s0(instance, v0)
            s1(instance, v1)
            s2(instance, v2)
            s3(instance, v3)
            s4(instance, v4)
            s5(instance, v5)
            s6(instance, v6)
            s7(instance, v7)
            s8(instance, v8)
            return instance
        return build9

    def build(*values: Any) -> Any:
        if len(values) != len(setters):
            raise TypeError(f"{cls.__name__} takes {len(setters)} values, got {len(values)}")
        instance = make(cls)
        for setter, value in zip(setters, values):
            setter(instance, value)
        return instance
    return build


_new_listed_object = _constructor(ListedObject)
_new_listed_version = _constructor(ListedVersion)


def parse_objects_page(body: bytes, restore_status_requested: bool) -> Optional[ParsedObjects]:
    """A ListObjectsV2 200 body as values, or None when botocore must parse it (see the module docstring).

    This loop runs once per listed object of every sync, so it is written out flat: each value is what
    `rows.listed_object` makes of botocore's parse of the same element.
    """
    try:
        text, header, first, last = _document(body, "ListBucketResult", ("<Contents>",), ("</Contents>",))
        entries = _entries(text, first, last, _CONTENTS, ("Contents",))
        encoded = header.get("EncodingType") == "url"
        truncated = header.get("IsTruncated") == "true"
        restore = _restore_reader(restore_status_requested)
        new, fromisoformat = _new_listed_object, datetime.fromisoformat
        folders: dict[str, str] = {}
        objects = []
        append = objects.append
        for _, key, modified, e_tag, algorithms, checksum_type, size, storage_class, in_progress, expiry in entries:
            if "&" in key:
                key = _unescape(key)
            if encoded and ("%" in key or "+" in key):
                key = url_decode_in_folders(key, folders)
            try:
                last_modified = fromisoformat(modified) if len(modified) >= 20 and modified[10] == "T" else None
            except ValueError:
                last_modified = None
            if last_modified is None or last_modified.tzinfo is not _UTC:
                last_modified = _timestamp(modified)
                iso = None
            else:
                iso = isoformat_text(modified)
            if "&" in e_tag:  # S3 writes ETags as &quot;...&quot;: that entity alone is replaced cheaply
                quoted = e_tag.replace("&quot;", '"')
                e_tag = _unescape(e_tag) if "&" in quoted else quoted
            if "&" in storage_class:
                storage_class = _unescape(storage_class)
            storage_class = storage_class or "STANDARD"
            if "&" in checksum_type:
                checksum_type = _unescape(checksum_type)
            append(new(key, last_modified, e_tag.strip('"'), int(size) if size else 0, storage_class,
                       _algorithms(algorithms) if algorithms else None, checksum_type or None,
                       restore(storage_class, in_progress, expiry) if restore else None, iso))
        return ParsedObjects(objects, _common_prefixes(text, encoded), truncated,
                             header.get("NextContinuationToken") if truncated else None)
    except (_NotInSubset, ValueError, OverflowError, RuntimeError):  # see _NotInSubset
        return None


def parse_versions_page(body: bytes, restore_status_requested: bool = False) -> Optional[ParsedVersions]:
    """A ListObjectVersions 200 body as values, or None when botocore must parse it (see the module docstring)."""
    try:
        text, header, first, last = _document(body, "ListVersionsResult", ("<Version>", "<DeleteMarker>"),
                                              ("</Version>", "</DeleteMarker>"))
        entries = _entries(text, first, last, _VERSION, ("Version", "DeleteMarker"))
        encoded = header.get("EncodingType") == "url"
        truncated = header.get("IsTruncated") == "true"
        restore = _restore_reader(restore_status_requested)
        versions = [_listed_version(entry, encoded, restore) for entry in entries]
        next_key = header.get("NextKeyMarker") if truncated else None
        if next_key is not None and encoded:
            next_key = url_decode(next_key)
        return ParsedVersions(versions, _common_prefixes(text, encoded), truncated, next_key,
                              header.get("NextVersionIdMarker") if truncated else None)
    except (_NotInSubset, ValueError, OverflowError, RuntimeError):  # see _NotInSubset
        return None


def _document(body: bytes, root: str, openings: tuple[str, ...],
              closings: tuple[str, ...]) -> tuple[str, dict[str, str], int, int]:
    """Check the document around its entries; return its text, the root's own leaves and the entries' run.

    The document must be: prolog, `<root>`, other items, one run of entries (from the first entry's start tag to
    the last one's end tag; `_entries` checks what is inside), other items, `</root>`.
    """
    # Searching a page for `]]>` costs as much as for one byte only where a `]` is found (one byte is found
    # at memchr speed), and U+FFFE and U+FFFF are looked for in the text, which finds characters its kind of string
    # cannot hold at once (a key-only ASCII page) instead of searching the bytes for their UTF-8 form.
    if len(body.translate(None, _FORBIDDEN_BYTES)) != len(body) or (b"]" in body and b"]]>" in body):
        raise _NotInSubset
    text = body.decode("utf-8")
    if "\ufffe" in text or "\uffff" in text:
        raise _NotInSubset
    prolog = _PROLOG.match(text)
    end = text.rfind(f"</{root}>")
    if prolog is None or prolog.group(1) != root or end < 0 or text[end + len(root) + 3:].strip(" \t\n"):
        raise _NotInSubset
    if "&" in text and _UNUSUAL_AMPERSAND.search(text):
        # A character reference (it must name a character XML allows) or a bare `&` (not XML at all).
        if _BAD_AMPERSAND.search(text):
            raise _NotInSubset
        for reference in _ENTITY.finditer(text):
            _unescape_match(reference)
    inner_start = prolog.end()
    starts = [i for i in (text.find(o, inner_start, end) for o in openings) if i >= 0]
    if starts:
        first = min(starts)
        last = max(text.rfind(c, first, end) + len(c) for c in closings)
    else:
        first = last = end
    before, after = text[inner_start:first], text[last:end]
    if last < first or _OTHER_ITEMS.fullmatch(before) is None or _OTHER_ITEMS.fullmatch(after) is None:
        raise _NotInSubset
    return text, _top_level_leaves(before + after), first, last


def _entries(text: str, first: int, last: int, in_order: re.Pattern, kinds: tuple[str, ...]) -> list[tuple]:
    """The entries between `first` and `last`, as the groups of `in_order`. Their lengths adding up to the run's
    proves that every entry was read; otherwise each is read on its own (`_entry_fields`)."""
    if first == last:
        return []
    found = in_order.findall(text, first, last)
    if sum(map(len, map(_WHOLE, found))) == last - first:
        return found
    found = _ANY_ENTRY.findall(text, first, last)
    if sum(map(len, map(_WHOLE, found))) != last - first:
        raise _NotInSubset
    return [_entry_fields(kind, inner, kinds) for _, kind, inner in found]


def _entry_fields(kind: str, inner: str, kinds: tuple[str, ...]) -> tuple:
    """One entry read order-free, into the same groups `_CONTENTS` (or `_VERSION`) gives.

    Its children must be leaves (`<Name>text</Name>`), Owner (ignored, as the connector ignores it) and
    RestoreStatus. A leaf botocore does not know is ignored, as botocore ignores it; a repeated one (but
    ChecksumAlgorithm, a list) is refused, because botocore would turn it into a list.
    """
    if kind not in kinds:
        raise _NotInSubset
    restore: Optional[dict[str, str]] = None
    for name, children, _ in _CONTAINER.findall(inner):
        if name == "RestoreStatus":
            if restore is not None:
                raise _NotInSubset
            restore = _leaves(_PAIR.findall(children), _RESTORE_CHILDREN)
    rest = _CONTAINER.sub("", inner) if "<Owner>" in inner or "<RestoreStatus>" in inner else inner
    pairs = _PAIR.findall(rest)
    if rest.count("<") != 2 * len(pairs):
        raise _NotInSubset
    algorithms = "".join(f"<ChecksumAlgorithm>{v}</ChecksumAlgorithm>" for n, v in pairs if n == "ChecksumAlgorithm")
    leaves = _leaves([pair for pair in pairs if pair[0] != "ChecksumAlgorithm"], None)
    if "Key" not in leaves or "LastModified" not in leaves or "<ChecksumAlgorithm></" in algorithms:
        raise _NotInSubset
    restore = restore or {}
    get = leaves.get
    values = (get("Key"), get("LastModified"), get("ETag", ""), algorithms, get("ChecksumType", ""), get("Size", ""),
              get("StorageClass", ""), restore.get("IsRestoreInProgress", ""), restore.get("RestoreExpiryDate", ""))
    if kind == "Contents":
        return ("", *values)
    return ("", kind, values[0], get("VersionId", ""), get("IsLatest", ""), *values[1:])


def _leaves(pairs: list[tuple[str, str]], allowed: Optional[frozenset]) -> dict[str, str]:
    """(name, text) pairs as a dict; a repeated name, one outside `allowed`, or an empty number or date is refused."""
    leaves: dict[str, str] = {}
    for name, value in pairs:
        if name in leaves or (allowed is not None and name not in allowed) or (name in _NEEDS_VALUE and not value):
            raise _NotInSubset
        leaves[name] = value
    return leaves


def _top_level_leaves(items: str) -> dict[str, str]:
    """The root's own leaf elements, as botocore reads them ('' for an empty one); a repeated one is refused,
    because botocore would turn it into a list, and so is a count that is not a number, which botocore fails on."""
    leaves: dict[str, str] = {}
    for name, value, empty_name in _LEAF.findall(_COMMON_PREFIX.sub("", items)):
        name = name or empty_name
        if name in leaves:
            raise _NotInSubset
        leaves[name] = _unescape(value)
    for name in _INTEGER_LEAVES.intersection(leaves):
        int(leaves[name])
    return leaves


def _common_prefixes(text: str, encoded: bool) -> list[str]:
    if "<CommonPrefixes>" not in text:
        return []
    prefixes = [_unescape(p) for p in _COMMON_PREFIX.findall(text)]
    return [url_decode(p) for p in prefixes] if encoded else prefixes


def _listed_version(entry: tuple, encoded: bool,
                    restore: Optional[Callable[[str, str, str], Optional[RestoreInfo]]]) -> ListedVersion:
    (_, kind, key, version_id, is_latest, modified, e_tag, algorithms, checksum_type, size, storage_class,
     in_progress, expiry) = entry
    key = _unescape(key)
    if encoded:
        key = url_decode(key)
    common = (key, _unescape(version_id) or "null", _unescape(is_latest) == "true", kind == "DeleteMarker",
              _timestamp(modified))
    if kind == "DeleteMarker":
        return _new_listed_version(*common, None, None, None, None, None, None)
    storage_class = _unescape(storage_class) or "STANDARD"
    return _new_listed_version(
        *common, _unescape(e_tag).strip('"'), int(size) if size else 0, storage_class,
        _algorithms(algorithms) if algorithms else None, _unescape(checksum_type) or None,
        restore(storage_class, in_progress, expiry) if restore else None)


def _restore_reader(requested: bool) -> Optional[Callable[[str, str, str], Optional[RestoreInfo]]]:
    """`restore_from_listing` for one page's entries, or None when RestoreStatus was not requested (every restore
    is then None). Without a RestoreStatus element the answer depends on the class only, and RestoreInfo is
    immutable, so it is computed once per class and page."""
    if not requested:
        return None
    by_class: dict[str, Optional[RestoreInfo]] = {}

    def restore(storage_class: str, in_progress: str, expiry: str) -> Optional[RestoreInfo]:
        if in_progress or expiry:
            status: dict[str, Any] = {"IsRestoreInProgress": _unescape(in_progress) == "true"} if in_progress else {}
            if expiry:
                status["RestoreExpiryDate"] = _timestamp(expiry)
            return restore_from_listing(storage_class, status)
        try:
            return by_class[storage_class]
        except KeyError:
            info = by_class[storage_class] = restore_from_listing(storage_class, None)
            return info
    return restore


def _algorithms(run: str) -> str:
    return ",".join(_unescape(a) for a in _CHECKSUM_ALGORITHM.findall(run))


def isoformat_text(text: str) -> Optional[str]:
    """`datetime.fromisoformat(text).isoformat()`, read off `text` for a fraction of the cost, or None.

    Only for a `text` that `datetime.fromisoformat` has just read into an aware UTC datetime: that parse proves its
    digits are digits and its fields in range, so for the shape S3 writes, `YYYY-MM-DDTHH:MM:SS` then an optional
    fraction of 1 to 6 digits then `Z`, the fields are exactly those characters and `isoformat()` writes them back
    the same, the fraction as 6 digits unless it is zero, and `+00:00` for `Z`. Any other shape gives None (the
    caller calls `isoformat()`), and so does hour 24, which a later Python might read as the next day's midnight.
    It feeds `ranges.fingerprint`, whose text must never change: `tests/unit/test_listing_xml.py` compares it
    with `isoformat()` over a corpus of shapes.
    """
    if text[4:17:3] != "--T::" or text[11:13] == "24":
        return None
    tail = text[19:]
    if tail == ".000Z" or tail == "Z":  # S3's own: whole seconds
        return text[:19] + "+00:00"
    fraction = tail[1:-1]
    if tail[:1] != "." or tail[-1:] != "Z" or not 1 <= len(fraction) <= 6 \
            or not (fraction.isascii() and fraction.isdigit()):
        return None
    if fraction.count("0") == len(fraction):
        return text[:19] + "+00:00"
    return f"{text[:19]}.{fraction:0<6}+00:00"


def _timestamp(text: str) -> datetime:
    """What botocore's timestamp parsing and `to_utc` make of an S3 listing timestamp."""
    if "&" in text:
        text = _unescape(text)
    try:
        parsed = datetime.fromisoformat(text) if len(text) >= 20 and text[10] == "T" else None
    except ValueError:
        parsed = None
    if parsed is not None and parsed.tzinfo is _UTC:
        return parsed
    return to_utc(fast_timestamp_parser(text))


def url_decode(value: str) -> str:
    """`urllib.parse.unquote_plus(value)`, what botocore applies to url-encoded keys, at a third of its cost.

    S3 sends url-encoded keys as ASCII, so `%XX` escapes are turned into the bytes they name and the result read as
    UTF-8, as `unquote_plus` does; anything else (other characters, bytes that are not UTF-8, which `unquote_plus`
    replaces) goes to `unquote_plus` itself.
    """
    if "+" in value:
        value = value.replace("+", " ")
    if "%" not in value:
        return value
    if value.isascii():
        first, *rest = value.split("%")
        pieces = [first]
        for piece in rest:
            byte = _HEX_PAIRS.get(piece[:2])
            pieces.append(byte + piece[2:] if byte else "%" + piece)
        try:
            return "".join(pieces).encode("latin-1").decode("utf-8")
        except UnicodeDecodeError:
            pass
    return unquote_plus(value)


def url_decode_in_folders(value: str, folders: dict[str, str]) -> str:
    """`url_decode(value)`, with the decoded folder (the part before the last `/`) kept in `folders` for the next key.

    The keys of a page mostly share their folders, and a folder with something to decode (`dt%3D2024-05-01/`) costs
    as much as the rest of the key's reading. Decoding is separable at any ASCII character (it ends a `%XX` escape
    and any UTF-8 sequence, valid or not, on both sides alike), so the folder and the name are decoded apart.
    """
    folder, slash, name = value.rpartition("/")
    decoded = folders.get(folder)
    if decoded is None:
        decoded = folders[folder] = url_decode(folder)
    return decoded + slash + (url_decode(name) if "%" in name or "+" in name else name)


def _unescape(value: str) -> str:
    """Replace XML's predefined entities and character references (the document was checked to hold no other
    `&`). Named entities alone are replaced in sequence, `&amp;` last so that `&amp;lt;` stays `&lt;`."""
    if "&" not in value:
        return value
    if "&#" in value:
        return _ENTITY.sub(_unescape_match, value)
    return (value.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")
            .replace("&amp;", "&"))


def _unescape_match(match: re.Match) -> str:
    named, decimal, hexadecimal = match.groups()
    if named:
        return _NAMED[named]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    if not (code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD
            or 0x10000 <= code <= 0x10FFFF):
        raise _NotInSubset
    return chr(code)
