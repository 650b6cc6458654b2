"""Generated ListObjectsV2 and ListObjectVersions response bodies, from S3's own shape to well beyond it.

A body is built from a tree of choices (tests/differential/choices.py), each of which S3 or an S3-compatible store
makes one way or another: keys from every Unicode plane (and 1,024-byte ones), url-encoded or raw, with `+`, `%2B`
and bad percent sequences; text escaped by named entities, numeric character references, CDATA or not at all;
control characters; timestamps with and without fractions and offsets; ETags with and without quotes; sizes 0,
huge and odd; empty pages, pages of CommonPrefixes only, truncated pages; elements in S3's order or any other,
unknown elements, namespaces, XML declarations and whitespace between elements. Then, sometimes, one corruption:
the body cut short, an element repeated, a comment, a DOCTYPE, a stray byte, junk after the root, an `<Error>`
document.

Each body has a temper, so that most are worth reading: "s3" bodies are what AWS writes (only the keys and values
vary), "odd" ones are valid XML written otherwise (another store, a proxy), "hostile" ones anything at all.

The generators only build bytes; what they must parse to is botocore's business (test_listing_differential.py).
"""
from __future__ import annotations

import random
from typing import Optional
from urllib.parse import quote, quote_plus

from tests.differential.choices import Choices

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
STORAGE_CLASSES = ("STANDARD", "STANDARD_IA", "ONEZONE_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE",
                   "INTELLIGENT_TIERING", "REDUCED_REDUNDANCY", "EXPRESS_ONEZONE", "OUTPOSTS", "SNOW")
ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256", "SHA512", "MD5", "XXHASH64", "XXHASH3", "XXHASH128")
TEMPERS = ("s3",) * 5 + ("odd",) * 3 + ("hostile",) * 2


def key(c: Choices, temper: str) -> str:
    """An object key: short and awkward, or up to S3's maximum of 1,024 UTF-8 bytes."""
    xml = temper != "hostile"
    shape = c.pick(("short", "short", "short", "short", "long", "maximum"))
    if shape == "short":
        return c.characters(xml, 0, 10)
    unit = c.characters(xml, 1, 4)
    text = unit * (1024 // len(unit.encode("utf-8")) + 1)
    while len(text.encode("utf-8")) > 1024:
        text = text[:-1]
    return text if shape == "maximum" else text[:c.integer(1, max(1, len(text)))]


# -- text as it appears in XML

_NAMED = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}


def escaped(value: str, style: str, rng: random.Random) -> str:
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
    forms = ("decimal", "hex") if style == "references" else ("keep", "keep", "named", "decimal", "hex", "HEX",
                                                               "zeros", "bad-x")
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


_STYLES = {"s3": ("s3",), "odd": ("s3", "s3", "references", "cdata"),
           "hostile": ("s3", "references", "cdata", "mixed", "raw")}


def xml_text(c: Choices, value: str, temper: str) -> str:
    return escaped(value, c.pick(_STYLES[temper]), random.Random(c.seed()))


_BAD_PERCENT = ("+", "%2B", "%2b", "%", "%4", "%G1", "%e9", "%C3%28", "%FF", "%ED%A0%80", "%F0%9F%98", "%%41", "%2",
                "+%2B+")


def key_on_the_wire(c: Choices, text: str, encoded: bool, temper: str) -> str:
    """A key as a listing writes it: url-encoded (botocore asks for EncodingType=url) in one of the ways servers
    do it, sometimes with `+`, `%2B` or a bad percent sequence added; or raw."""
    if encoded:
        encode = "quote" if temper == "s3" else c.pick(("quote", "quote", "plus", "safe-none", "lower-hex", "as-is"))
        wire = {"quote": lambda: quote(text, safe="/~"), "plus": lambda: quote_plus(text, safe="/~"),
                "safe-none": lambda: quote(text, safe=""), "lower-hex": lambda: _lower_hex(quote(text, safe="/")),
                "as-is": lambda: text}[encode]()
        if temper != "s3" and c.boolean():
            at = c.integer(0, len(wire))
            wire = wire[:at] + c.pick(_BAD_PERCENT) + wire[at:]
        return xml_text(c, wire, temper)
    return xml_text(c, text, temper)


def _lower_hex(text: str) -> str:
    return "".join(part[:2].lower() + part[2:] if i else part for i, part in enumerate(text.split("%")))


# -- field values

def _second(c: Choices) -> str:
    return c.moment().strftime("%Y-%m-%dT%H:%M:%S").rjust(19, "0")


_ODD_FRACTIONS = ("", ".000", ".5", ".123", ".123456", ".1234567", ".123456789")
_ODD_ZONES = ("Z", "Z", "+00:00", "-00:00", "+02:00", "-05:30", "+0000", "+00:00:00")
_ODD_DATES = ("2024-02-29T23:59:59Z", "2023-02-29T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T23:59:60Z",
              "2024-05-01 12:00:00Z", "2024-05-01", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z",
              "1700000000", "0", "-1", "99999999999999999999", "1e400", "Wed, 21 Oct 2015 07:28:00 GMT", "yesterday",
              "", " 2024-05-01T12:00:00Z ", "2024-05-01T12:00:00.000\u0661Z", "\u0662\u0660\u0662\u0664-05-01T12:00:00Z",
              "2024-W18-3T12:00:00.000Z", "2024-122T12:00:00Z", "2024-05-01T12:00:00+00:00:00", "20240501T120000Z")


def timestamp(c: Choices, temper: str) -> str:
    if temper == "s3":
        return _second(c) + ".000Z"
    shape = c.pick(("odd", "odd", "bad-parts", "listed") if temper == "hostile" else ("odd",))
    if shape == "odd":
        return _second(c) + c.pick(_ODD_FRACTIONS) + c.pick(_ODD_ZONES)
    if shape == "bad-parts":
        return _second(c) + c.pick((",5", ".", ".000")) + c.pick(("z", "", "+24:00", " UTC", "+00:00:00"))
    return c.pick(_ODD_DATES)


def size(c: Choices, temper: str) -> str:
    if temper == "s3":
        return str(c.integer(0, 5 * 1024 ** 4))
    if temper == "odd":
        return c.pick((str(c.integer(0, 2 ** 70)), "0", str(2 ** 63), "007"))
    return c.pick((str(c.integer(-2 ** 70, 2 ** 70)), "-1", "+5", " 5", "5 ", "1.5", "1e3", "", "1_000",
                   "\u0661\u0662", "0x10", "many"))


def e_tag(c: Choices, temper: str) -> str:
    digest = random.Random(c.seed()).randbytes(16).hex()
    if temper == "s3":
        return c.pick((f'"{digest}"', f'"{digest}-{c.integer(1, 10000)}"'))
    if temper == "odd":
        return c.pick((f'"{digest}"', digest, '""', '"a"b"', "'x'"))
    return c.pick(('"', '"open', 'close"', "", f'"{c.characters(False, 0, 8)}"'))


def leaf(name: str, text: Optional[str]) -> str:
    return "" if text is None else f"<{name}>{text}</{name}>"


_OWNERS = (None, "<Owner><ID>75aa57f09aa0c8ca</ID><DisplayName>me &amp; you</DisplayName></Owner>",
           "<Owner><ID>id</ID></Owner>", "<Owner></Owner>")
_EXTRA = {"s3": (None,), "odd": (None, None, "<Type>Normal</Type>", "<Future>x</Future>"),
          "hostile": (None, "<Empty/>", "<UserMetadata><a>b</a></UserMetadata>", '<Key2 a="1">x</Key2>',
                      "<Future>x</Future>")}
_GAPS = {"s3": ("",), "odd": ("", "", "\n", "\n    ", " ", "\t"), "hostile": ("", "\n", " ", "\t", "\r\n")}
_STORAGE = {"s3": STORAGE_CLASSES, "odd": (None, "", *STORAGE_CLASSES),
            "hostile": (None, "", "odd class", "x&amp;y", *STORAGE_CLASSES)}


def entry(c: Choices, kind: str, encoded: bool, temper: str) -> str:
    """One Contents, Version or DeleteMarker element."""
    hostile = temper == "hostile"
    children: list[str] = [leaf("Key", key_on_the_wire(c, key(c, temper), encoded, temper))]
    if kind in ("Version", "DeleteMarker"):
        children.append(leaf("VersionId", c.pick(("null", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")
                                                  + ((None, "", "v&amp;1") if temper != "s3" else ()))))
        children.append(leaf("IsLatest", c.pick(("true", "false") + ((None, "", "TRUE", "1") if hostile else ()))))
    missing = hostile and c.integer(0, 9) == 0
    children.append(leaf("LastModified", None if missing else timestamp(c, temper)))
    if kind != "DeleteMarker" or hostile and c.integer(0, 9) == 0:
        children.append(leaf("ETag", xml_text(c, e_tag(c, temper), temper)))
        algorithms = (*ALGORITHMS, "") if hostile else ALGORITHMS
        children.extend(leaf("ChecksumAlgorithm", c.pick(algorithms)) for _ in range(c.integer(0, 3)))
        children.append(leaf("ChecksumType", c.pick((None, None, "FULL_OBJECT", "COMPOSITE")
                                                    + (("", "x&amp;y") if hostile else ()))))
        children.append(leaf("Size", None if temper != "s3" and c.integer(0, 9) == 0 else size(c, temper)))
        owner, after_class = c.pick(_OWNERS), c.boolean()
        children.append("" if owner is None or after_class else owner)
        children.append(leaf("StorageClass", c.pick(_STORAGE[temper])))
        children.append(owner if owner is not None and after_class else "")
        if c.integer(0, 3) == 0:
            progress = c.pick(("true", "false", None) + (("", "yes") if hostile else ()))
            expiry = timestamp(c, temper) if c.boolean() else None
            children.append(f"<RestoreStatus>{leaf('IsRestoreInProgress', progress)}"
                            f"{leaf('RestoreExpiryDate', expiry)}</RestoreStatus>")
    elif c.boolean():
        children.append("<Owner><ID>id</ID></Owner>")
    children = [child for child in children if child]
    extra = c.pick(_EXTRA[temper])
    if extra:
        children.insert(c.integer(0, len(children)), extra)
    if temper != "s3" and c.integer(0, 3) == 0:
        children = c.permutation(children)
    gap = c.pick(_GAPS[temper])
    return f"<{kind}>{gap}{gap.join(children)}{gap}</{kind}>"


_NAMESPACES = {"s3": (f' xmlns="{NAMESPACE}"',),
               "odd": (f' xmlns="{NAMESPACE}"', "", f'  xmlns="{NAMESPACE}" ', f" xmlns='{NAMESPACE}'",
                       f' xmlns:s3="{NAMESPACE}"'),
               "hostile": (f' xmlns="{NAMESPACE}"', "", ' xmlns="a&amp;b"', ' a="1"')}
_DECLARATIONS = {"s3": ('<?xml version="1.0" encoding="UTF-8"?>\n',),
                 "odd": ('<?xml version="1.0" encoding="UTF-8"?>', "", '<?xml version="1.0"?>\n',
                         '<?xml version="1.0" encoding="ISO-8859-1"?>',
                         '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n', "<?xml version='1.0'?>", "\n"),
                 "hostile": ('<?xml version="1.1"?>', " ", '<?xml version="1.0" encoding="UTF-16"?>', "")}


def listing_body(c: Choices, versions: bool) -> tuple[str, bytes]:
    """A whole ListObjectsV2 (or ListObjectVersions) body of one temper, a hostile one maybe corrupted: (temper,
    body)."""
    temper = c.pick(TEMPERS)
    hostile = temper == "hostile"
    encoded = c.pick((True, True, True, False))
    root = "ListVersionsResult" if versions else "ListBucketResult"
    truncated = c.pick(("true", "false") + (("", "True", None) if hostile else ()))
    header = [leaf("Name", "bucket"), leaf("Prefix", c.pick(("", "logs/") + ((None,) if temper != "s3" else ())))]
    if versions:
        header += [leaf("KeyMarker", ""), leaf("VersionIdMarker", "")]
        if truncated == "true" or temper != "s3" and c.boolean():
            header += [leaf("NextKeyMarker", key_on_the_wire(c, key(c, temper), encoded, temper)),
                       leaf("NextVersionIdMarker", c.pick(("v1", "null", "a&amp;b")))]
    else:
        header += [leaf("KeyCount", c.pick(("0", "3") + (("", "x") if hostile else ()))),
                   leaf("ContinuationToken", c.pick((None, "abc"))), leaf("StartAfter", c.pick((None, "a%20b")))]
        if truncated == "true" or temper != "s3" and c.boolean():
            header.append(leaf("NextContinuationToken",
                               c.pick(("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=", "", "t&amp;k"))))
    header += [leaf("MaxKeys", c.pick(("1000",) + (("", "many", None) if hostile else ()))),
               leaf("Delimiter", c.pick((None, "/"))), leaf("IsTruncated", truncated)]
    if encoded:
        header.append(leaf("EncodingType", c.pick(("url",) + (("URL", "") if hostile else ()))))
    if temper != "s3" and c.integer(0, 5) == 0:
        header.append(c.pick(("<Future>x</Future>", "<Marker/>", "<Prefix/>")
                             + (("<Nested><a>b</a></Nested>",) if hostile else ())))
    header = [item for item in header if item]
    if temper != "s3" and c.integer(0, 3) == 0:
        header = c.permutation(header)
    kinds = ("Version", "Version", "DeleteMarker") if versions else ("Contents",)
    entries = [entry(c, c.pick(kinds), encoded, temper) for _ in range(c.pick((0, 1, 2, 3, 5, 8)))]
    prefixes = [f"<CommonPrefixes><Prefix>{key_on_the_wire(c, key(c, temper), encoded, temper)}</Prefix>"
                "</CommonPrefixes>" for _ in range(c.pick((0, 0, 1, 3)))]
    items = header + entries + prefixes
    if hostile and prefixes and entries and c.boolean():  # a prefix between entries
        items = header + entries[:1] + prefixes + entries[1:]
    gap = c.pick(_GAPS[temper])
    body = (f"{c.pick(_DECLARATIONS[temper])}<{root}{c.pick(_NAMESPACES[temper])}>{gap}{gap.join(items)}{gap}"
            f"</{root}>{c.pick(('', chr(10)))}").encode("utf-8", "surrogatepass")
    return temper, corrupted(c, body) if hostile else body


_DAMAGE = ("none",) * 3 + ("cut", "repeat", "comment", "doctype", "byte", "junk", "error", "bom", "crlf")


def corrupted(c: Choices, body: bytes) -> bytes:
    """`body`, maybe with one corruption a network, a proxy or another server could cause."""
    damage = c.pick(_DAMAGE)
    if damage == "none" or not body:
        return body
    at = c.integer(0, len(body))
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
        return body[:at] + bytes([c.integer(0, 255)]) + body[at + 1:]
    if damage == "junk":
        return body + c.pick((b"<Extra/>", b"x", b"\x00", b"<!-- c -->"))
    if damage == "bom":
        return b"\xef\xbb\xbf" + body
    if damage == "crlf":
        return body.replace(b"\n", b"\r\n")
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
            b"<Message>We encountered an internal error.</Message></Error>")
