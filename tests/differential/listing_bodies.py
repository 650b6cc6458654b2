"""Generated ListObjectsV2 and ListObjectVersions response bodies, from S3's own shape to well beyond it.

A body is drawn as a tree of choices, each of which S3 or an S3-compatible store makes one way or another: keys
from every Unicode plane (and 1,024-byte ones), url-encoded or raw, with `+`, `%2B` and bad percent sequences;
text escaped by named entities, numeric character references, CDATA or not at all; control characters;
timestamps with and without fractions and offsets; ETags with and without quotes; sizes 0, huge and odd; empty
pages, pages of CommonPrefixes only, truncated pages; elements in S3's order or any other, unknown elements,
namespaces, XML declarations and whitespace between elements. Then, sometimes, one corruption: the body cut
short, an element repeated, a comment, a DOCTYPE, a stray byte, junk after the root, an `<Error>` document.

Each body has a temper, so that most are worth reading: "s3" bodies are what AWS writes (only the keys and values
vary), "odd" ones are valid XML written otherwise (another store, a proxy), "hostile" ones anything at all.
Structural choices are hypothesis draws (so a failure shrinks to a small body); the choices made per character of
a value come from one drawn seed, which keeps a 1,024-byte key as cheap to draw as a short one.

The strategies only build bytes; what they must parse to is botocore's business (test_listing_differential.py).
"""
from __future__ import annotations

import random
from typing import Optional
from urllib.parse import quote, quote_plus

from hypothesis import strategies as st

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
STORAGE_CLASSES = ("STANDARD", "STANDARD_IA", "ONEZONE_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE",
                   "INTELLIGENT_TIERING", "REDUCED_REDUNDANCY", "EXPRESS_ONEZONE", "OUTPOSTS", "SNOW")
ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256", "SHA512", "MD5", "XXHASH64", "XXHASH3", "XXHASH128")
TEMPERS = st.sampled_from(["s3"] * 5 + ["odd"] * 3 + ["hostile"] * 2)
SEEDS = st.integers(0, 2 ** 32 - 1)


def pick(options: list) -> st.SearchStrategy:
    return st.sampled_from(options)


# -- characters and keys

_SPECIAL = ["&", "<", ">", '"', "'", "+", "%", " ", "/", "//", "~", "=", ";", "?", "#", "\t", "\n", "\r", "]]>", "]]",
            "\x00", "\x01", "\x1f", "\x7f", "\x85", "\u2028", "\ufeff", "\ufffd", "\ufffe", "\uffff", "\U0001fffe",
            "\U0010ffff", "%2B", "%20", "%4", "%zz", "%e9", "%C3", "%FF", "%ED%A0%80", "&amp;", "&#65;", ".", ".."]


def _code_point(plane: int, offset: int) -> str:
    """A code point of one of Unicode's 17 planes; surrogates (which no key can hold) move to the next plane."""
    code = plane * 0x10000 + offset
    return chr(code + 0x800 if 0xD800 <= code <= 0xDFFF else code)


def _xml_characters(text: str) -> bool:
    """Whether XML 1.0 can carry `text` (escaped where it must be): no control character but tab and newline (a
    carriage return is rewritten by XML's end-of-line handling), no U+FFFE or U+FFFF."""
    return all(c in "\t\n" or 0x20 <= ord(c) <= 0xD7FF or 0xE000 <= ord(c) <= 0xFFFD or ord(c) >= 0x10000
               for c in text)


ANY_PLANE = st.builds(_code_point, st.integers(0, 16), st.integers(0, 0xFFFF))
CHARACTERS = st.one_of(st.characters(codec="utf-8"), ANY_PLANE, pick(_SPECIAL))
XML_CHARACTERS = st.one_of(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), ANY_PLANE,
                           pick(_SPECIAL)).filter(_xml_characters)


@st.composite
def keys(draw: st.DrawFn, temper: str) -> str:
    """An object key: short and awkward, or up to S3's maximum of 1,024 UTF-8 bytes."""
    characters = CHARACTERS if temper == "hostile" else XML_CHARACTERS
    shape = draw(pick(["short", "short", "short", "short", "long", "maximum"]))
    if shape == "short":
        return "".join(draw(st.lists(characters, max_size=10)))
    unit = "".join(draw(st.lists(characters, min_size=1, max_size=4)))
    key = unit * (1024 // len(unit.encode("utf-8")) + 1)
    while len(key.encode("utf-8")) > 1024:
        key = key[:-1]
    return key if shape == "maximum" else key[:draw(st.integers(1, max(1, len(key))))]


# -- text as it appears in XML

_NAMED = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}


def _escaped(value: str, style: str, rng: random.Random) -> str:
    """`value` as XML text in `style`: "s3" (what S3 escapes), "references" (every character a numeric
    reference), "mixed" (each character kept, named or referenced in some form, some forms not XML), "cdata",
    "raw" (nothing escaped: not XML when it holds `<` or `&`)."""
    if style == "raw":
        return value
    if style == "cdata" and "]]>" not in value and value:
        return f"<![CDATA[{value}]]>"
    if style in ("s3", "cdata"):
        return "".join(_NAMED.get(c, "&#13;" if c == "\r" else c) for c in value)
    out = []
    forms = ["decimal", "hex"] if style == "references" else ["keep", "keep", "named", "decimal", "hex", "HEX",
                                                               "zeros", "bad-x"]
    for character in value:
        form = rng.choice(forms)
        code = ord(character)
        if form == "keep":
            out.append(_NAMED.get(character, "&#13;" if character == "\r" else character))
        elif form == "named":
            out.append(_NAMED.get(character, f"&#{code};"))
        else:
            out.append({"decimal": f"&#{code};", "hex": f"&#x{code:x};", "HEX": f"&#x{code:X};",
                        "zeros": f"&#000{code};", "bad-x": f"&#X{code:x};"}[form])
    return "".join(out)


_STYLES = {"s3": pick(["s3"]), "odd": pick(["s3", "s3", "references", "cdata", "mixed"]),
           "hostile": pick(["s3", "references", "cdata", "mixed", "raw"])}


@st.composite
def xml_text(draw: st.DrawFn, value: str, temper: str) -> str:
    style = draw(_STYLES[temper])
    if temper != "hostile" and style == "mixed":
        style = "references"  # "mixed" includes forms that are not XML
    return _escaped(value, style, random.Random(draw(SEEDS)))


_BAD_PERCENT = pick(["+", "%2B", "%2b", "%", "%4", "%G1", "%e9", "%C3%28", "%FF", "%ED%A0%80", "%F0%9F%98", "%%41",
                     "%2", "+%2B+"])


@st.composite
def key_on_the_wire(draw: st.DrawFn, key: str, encoded: bool, temper: str) -> str:
    """A key as a listing writes it: url-encoded (botocore asks for EncodingType=url) in one of the ways servers
    do it, sometimes with `+`, `%2B` or a bad percent sequence added; or raw."""
    if encoded:
        encode = "quote" if temper == "s3" else draw(pick(["quote", "quote", "plus", "safe-none", "lower-hex",
                                                           "as-is"]))
        wire = {"quote": lambda: quote(key, safe="/~"), "plus": lambda: quote_plus(key, safe="/~"),
                "safe-none": lambda: quote(key, safe=""), "lower-hex": lambda: _lower_hex(quote(key, safe="/")),
                "as-is": lambda: key}[encode]()
        if temper != "s3" and draw(st.booleans()):
            at = draw(st.integers(0, len(wire)))
            wire = wire[:at] + draw(_BAD_PERCENT) + wire[at:]
        return draw(xml_text(wire, temper))
    return draw(xml_text(key, temper))


def _lower_hex(text: str) -> str:
    return "".join(part[:2].lower() + part[2:] if i else part for i, part in enumerate(text.split("%")))


# -- field values

_S3_TIMESTAMPS = st.datetimes().map(lambda m: m.strftime("%Y-%m-%dT%H:%M:%S").rjust(19, "0") + ".000Z")
_ODD_TIMESTAMPS = st.tuples(
    st.datetimes().map(lambda m: m.strftime("%Y-%m-%dT%H:%M:%S").rjust(19, "0")),
    pick(["", ".000", ".5", ".123", ".123456", ".1234567", ".123456789"]),
    pick(["Z", "Z", "+00:00", "-00:00", "+02:00", "-05:30", "+0000"])).map("".join)
_HOSTILE_TIMESTAMPS = st.one_of(
    _ODD_TIMESTAMPS,
    st.tuples(st.datetimes().map(lambda m: m.strftime("%Y-%m-%dT%H:%M:%S").rjust(19, "0")),
              pick([",5", ".", ".000"]), pick(["z", "", "+24:00", " UTC", "+00:00:00"])).map("".join),
    pick(["2024-02-29T23:59:59Z", "2023-02-29T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T23:59:60Z",
          "2024-05-01 12:00:00Z", "2024-05-01", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "1700000000",
          "0", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "yesterday", "", " 2024-05-01T12:00:00Z ",
          "2024-05-01T12:00:00.000\u0661Z", "\u0662\u0660\u0662\u0664-05-01T12:00:00Z"]))
TIMESTAMPS = {"s3": _S3_TIMESTAMPS, "odd": _ODD_TIMESTAMPS, "hostile": _HOSTILE_TIMESTAMPS}
SIZES = {"s3": st.integers(0, 5 * 1024 ** 4).map(str),
         "odd": st.one_of(st.integers(0, 2 ** 70).map(str), pick(["0", str(2 ** 63), "007"])),
         "hostile": st.one_of(st.integers(-2 ** 70, 2 ** 70).map(str), pick(
             ["-1", "+5", " 5", "5 ", "1.5", "1e3", "", "1_000", "\u0661\u0662", "0x10", "many"]))}
_HEX = st.binary(min_size=16, max_size=16).map(bytes.hex)
ETAGS = {"s3": st.one_of(_HEX.map(lambda h: f'"{h}"'), st.tuples(_HEX, st.integers(1, 10000)).map(
             lambda t: f'"{t[0]}-{t[1]}"')),
         "odd": st.one_of(_HEX.map(lambda h: f'"{h}"'), _HEX, pick(['""', '"a"b"', "'x'"])),
         "hostile": st.one_of(pick(['"', '"open', 'close"', ""]), st.text(max_size=8).map(lambda t: f'"{t}"'))}
STORAGE = {"s3": pick(list(STORAGE_CLASSES)), "odd": pick([None, "", *STORAGE_CLASSES]),
           "hostile": pick([None, "", "odd class", "x&amp;y", *STORAGE_CLASSES])}


def leaf(name: str, text: Optional[str]) -> str:
    return "" if text is None else f"<{name}>{text}</{name}>"


_OWNERS = pick([None, "<Owner><ID>75aa57f09aa0c8ca</ID><DisplayName>me &amp; you</DisplayName></Owner>",
                "<Owner><ID>id</ID></Owner>", "<Owner></Owner>"])
_EXTRA = {"s3": pick([None]), "odd": pick([None, None, "<Type>Normal</Type>", "<Future>x</Future>"]),
          "hostile": pick([None, "<Empty/>", "<UserMetadata><a>b</a></UserMetadata>", '<Key2 a="1">x</Key2>',
                           "<Future>x</Future>"])}
_GAPS = {"s3": pick([""]), "odd": pick(["", "", "\n", "\n    ", " ", "\t"]),
         "hostile": pick(["", "\n", " ", "\t", "\r\n"])}


@st.composite
def entry(draw: st.DrawFn, kind: str, encoded: bool, temper: str) -> str:
    """One Contents, Version or DeleteMarker element."""
    children: list[str] = [leaf("Key", draw(key_on_the_wire(draw(keys(temper)), encoded, temper)))]
    if kind in ("Version", "DeleteMarker"):
        children.append(leaf("VersionId", draw(pick(["null", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"]
                                                     + ([None, "", "v&amp;1"] if temper != "s3" else [])))))
        children.append(leaf("IsLatest", draw(pick(["true", "false"] + ([None, "", "TRUE", "1"]
                                                                         if temper == "hostile" else [])))))
    missing = temper == "hostile" and draw(st.integers(0, 9)) == 0
    children.append(leaf("LastModified", None if missing else draw(TIMESTAMPS[temper])))
    if kind != "DeleteMarker" or temper == "hostile" and draw(st.integers(0, 9)) == 0:
        children.append(leaf("ETag", draw(ETAGS[temper].flatmap(lambda e: xml_text(e, temper)))))
        children.extend(leaf("ChecksumAlgorithm", a) for a in draw(st.lists(
            pick([*ALGORITHMS, ""] if temper == "hostile" else list(ALGORITHMS)), max_size=3)))
        children.append(leaf("ChecksumType", draw(pick([None, None, "FULL_OBJECT", "COMPOSITE"]
                                                        + (["", "x&amp;y"] if temper == "hostile" else [])))))
        children.append(leaf("Size", None if temper != "s3" and draw(st.integers(0, 9)) == 0
                             else draw(SIZES[temper])))
        owner, after_class = draw(_OWNERS), draw(st.booleans())
        children.append("" if owner is None or after_class else owner)
        children.append(leaf("StorageClass", draw(STORAGE[temper])))
        children.append(owner if owner is not None and after_class else "")
        if draw(st.integers(0, 3)) == 0:
            values = ["true", "false"] + (["", "yes", None] if temper == "hostile" else [None])
            progress, expiry = draw(pick(values)), draw(st.one_of(st.none(), TIMESTAMPS[temper]))
            children.append(f"<RestoreStatus>{leaf('IsRestoreInProgress', progress)}"
                            f"{leaf('RestoreExpiryDate', expiry)}</RestoreStatus>")
    elif draw(st.booleans()):
        children.append("<Owner><ID>id</ID></Owner>")
    children = [child for child in children if child]
    extra = draw(_EXTRA[temper])
    if extra:
        children.insert(draw(st.integers(0, len(children))), extra)
    if temper != "s3" and draw(st.integers(0, 3)) == 0:
        children = draw(st.permutations(children))
    gap = draw(_GAPS[temper])
    return f"<{kind}>{gap}{gap.join(children)}{gap}</{kind}>"


_NAMESPACES = {"s3": pick([f' xmlns="{NAMESPACE}"']),
               "odd": pick([f' xmlns="{NAMESPACE}"', "", f'  xmlns="{NAMESPACE}" ', f" xmlns='{NAMESPACE}'",
                            f' xmlns:s3="{NAMESPACE}"']),
               "hostile": pick([f' xmlns="{NAMESPACE}"', "", ' xmlns="a&amp;b"', ' a="1"'])}
_DECLARATIONS = {"s3": pick(['<?xml version="1.0" encoding="UTF-8"?>\n']),
                 "odd": pick(['<?xml version="1.0" encoding="UTF-8"?>', "", '<?xml version="1.0"?>\n',
                              '<?xml version="1.0" encoding="ISO-8859-1"?>',
                              '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n', "<?xml version='1.0'?>",
                              "\n"]),
                 "hostile": pick(['<?xml version="1.1"?>', " ", '<?xml version="1.0" encoding="UTF-16"?>', ""])}


@st.composite
def listing_body(draw: st.DrawFn, versions: bool) -> bytes:
    """A whole ListObjectsV2 (or ListObjectVersions) body of one temper, a hostile one maybe corrupted."""
    temper = draw(TEMPERS)
    encoded = draw(pick([True, True, True, False]))
    root = "ListVersionsResult" if versions else "ListBucketResult"
    truncated = draw(pick(["true", "false"] + (["", "True", None] if temper == "hostile" else [])))
    header = [leaf("Name", "bucket"), leaf("Prefix", draw(pick(["", "logs/"] + ([None] if temper != "s3" else []))))]
    if versions:
        header += [leaf("KeyMarker", ""), leaf("VersionIdMarker", "")]
        if truncated == "true" or temper != "s3" and draw(st.booleans()):
            marker = draw(key_on_the_wire(draw(keys(temper)), encoded, temper))
            header += [leaf("NextKeyMarker", marker), leaf("NextVersionIdMarker", draw(pick(["v1", "null", "a&amp;b"])))]
    else:
        header += [leaf("KeyCount", draw(pick(["0", "3"] + (["", "x"] if temper == "hostile" else [])))),
                   leaf("ContinuationToken", draw(pick([None, "abc"]))),
                   leaf("StartAfter", draw(pick([None, "a%20b"])))]
        if truncated == "true" or temper != "s3" and draw(st.booleans()):
            header.append(leaf("NextContinuationToken", draw(pick(
                ["1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=", "", "t&amp;k"]))))
    header += [leaf("MaxKeys", draw(pick(["1000"] + (["", "many", None] if temper == "hostile" else [])))),
               leaf("Delimiter", draw(pick([None, "/"]))), leaf("IsTruncated", truncated)]
    if encoded:
        header.append(leaf("EncodingType", draw(pick(["url"] + (["URL", ""] if temper == "hostile" else [])))))
    if temper != "s3" and draw(st.integers(0, 5)) == 0:
        header.append(draw(pick(["<Future>x</Future>", "<Marker/>", "<Prefix/>"]
                                + (["<Nested><a>b</a></Nested>"] if temper == "hostile" else []))))
    header = [item for item in header if item]
    if temper != "s3" and draw(st.integers(0, 3)) == 0:
        header = draw(st.permutations(header))
    kinds = pick(["Version", "Version", "DeleteMarker"] if versions else ["Contents"])
    entries = [draw(entry(draw(kinds), encoded, temper)) for _ in range(draw(pick([0, 1, 2, 3, 5, 8])))]
    prefixes = [f"<CommonPrefixes><Prefix>{draw(key_on_the_wire(draw(keys(temper)), encoded, temper))}</Prefix>"
                "</CommonPrefixes>" for _ in range(draw(pick([0, 0, 1, 3])))]
    items = header + entries + prefixes
    if temper == "hostile" and prefixes and entries and draw(st.booleans()):  # a prefix between entries
        items = header + entries[:1] + prefixes + entries[1:]
    gap = draw(_GAPS[temper])
    body = (f"{draw(_DECLARATIONS[temper])}<{root}{draw(_NAMESPACES[temper])}>{gap}{gap.join(items)}{gap}"
            f"</{root}>{draw(pick(['', chr(10)]))}").encode("utf-8", "surrogatepass")
    return draw(corrupted(body)) if temper == "hostile" else body


_DAMAGE = pick(["none"] * 3 + ["cut", "repeat", "comment", "doctype", "byte", "junk", "error", "bom", "crlf"])


@st.composite
def corrupted(draw: st.DrawFn, body: bytes) -> bytes:
    """`body`, maybe with one corruption a network, a proxy or another server could cause."""
    damage = draw(_DAMAGE)
    if damage == "none" or not body:
        return body
    at = draw(st.integers(0, len(body)))
    if damage == "cut":
        return body[:at]
    if damage == "repeat":
        start = body.find(b"<", at)
        end = body.find(b">", start) + 1 if start >= 0 else -1
        return body if start < 0 or end <= 0 else body[:end] + body[start:end] + body[end:]
    if damage == "comment":
        start = body.find(b"<", at)
        return body if start < 0 else body[:start] + b"<!-- c -->" + body[start:]
    if damage == "doctype":
        return body.replace(b"<List", b'<!DOCTYPE x [<!ENTITY e "v">]><List', 1)
    if damage == "byte":
        return body[:at] + bytes([draw(st.integers(0, 255))]) + body[at + 1:]
    if damage == "junk":
        return body + draw(pick([b"<Extra/>", b"x", b"\x00", b"<!-- c -->"]))
    if damage == "bom":
        return b"\xef\xbb\xbf" + body
    if damage == "crlf":
        return body.replace(b"\n", b"\r\n")
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
            b"<Message>We encountered an internal error.</Message></Error>")
