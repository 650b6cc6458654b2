"""Per-range sketches that name which objects of a key range changed, in a few hundred bytes per range.

A range's count and 64-bit digest (ranges.py) say *that* something in it changed; to send only what did, each
range also keeps an invertible Bloom lookup table (IBLT) of its objects. The sync needs it only where the count
or digest differ: it builds the sketch of the range as listed now from the buffered objects, and
`reconcile` subtracts the stored one and peels the difference into the objects that appeared (send exactly
those), and those that disappeared (old versions of changed objects, and deletes, which are counted).

Elements. Each object contributes an element of 80 bits, which is also the cell layout (`CELL_BYTES` = 10):
- `key_hash` (16 bits): a hash of the key alone (CRC-32, mixed). It chooses the element's three cells, so the
  old and the new version of a changed object land in the same cells, and it pairs old versions with new
  ones. The cell-choosing hash of a 16-bit key hash is tabulated once per sketch size (384 KB).
- fingerprint (48 bits): the low 48 bits of `ranges.fingerprint` (key and every listed column). A change
  whose old and new fingerprints agree on these 48 bits is invisible (2^-48 per changed object, where the
  range digest alone misses 2^-64): the price of a cell that fits 10 bytes.
- check (16 bits): a function of the fingerprint that is not linear over XOR (the high bits of a 64-bit
  product), so a cell holding several elements looks pure to the check with probability 2^-16, and must
  also be one of the three cells of the key hash it holds.
Cells are the XOR of their elements, so adding and removing are the same operation, two neighbouring ranges
merge by XOR (same size only), and the difference of two sketches is the sketch of the symmetric difference.

Why cells by key hash, with the listing as side information. A plain IBLT over (key, columns) sees a changed
object as two differences in six cells. Here its two versions share three cells, where together they are
not pure; but the listing is known, so a cell that becomes pure once one listed element is removed from it
names that element as changed (and the remainder as its old version). A changed object then costs one
element's room, a new or deleted one as well. Measured at 5% scattered, 24 cells of 10 bytes per range of
250 and the same fallback, rows sent / changed: 5.4 with cells chosen by the whole element, 2.8 by key.

Why three hashes over the whole table (not three sub-tables), 24 cells per 250 objects. Peeling stops when
every remaining element shares all its cells with others; for small tables the commonest cause is two keys
with the same three cells, 1 in C(24,3) = 2,024 here against 1 in 8^3 = 512 with sub-tables. Four hashes
were worse at 5% (3.2 against 2.5 on random elements). With ranges of 250 objects, 1% of objects changed
means 2.5 changed keys per range on average (P(more than 8) = 0.1%), 5% means 12.5 (standard deviation
3.4, P(more than 16) = 12%). One range of 250 objects with 24 cells (bench/sketch_bench.py, 500 trials)
completes: 100% with 1 or 2 changed keys, 99% with 4, 98% with 6 to 8, 97% with 10, 93% with 12, 86% with
14, 69% with 16, 47% with 18, 12% with 20, none with 24: about 1.7 cells per changed key at 86%, 0.86 per
difference. Bucket of 100,000 objects (5 seeds): 1% scattered sends 1.00 x the changed objects, 5% 2.87 x
(today: 90 x and 20 x), a clustered change the same whole ranges as today. The state grows by 304 bytes of
JSON per range (1.22 bytes per object): 1.5 MB at 1,000,000 objects, 4.8 x today's 311 KB. 18 cells would
keep to 3.9 x but send 7.4 x at 5% scattered; 27 cells send 1.9 x at 5.3 x the state. Rows are what users
pay for, a megabyte of state at a million objects is not, so 24. `cells_for` keeps 24 per 250 objects as
ranges grow, up to `MAX_CELLS`, so a stream of 5,000 ranges stays near 6 MB however large (past 5 million
objects the capacity per object shrinks in proportion).

Never a wrong answer. `reconcile` calls a range complete only if the difference peels to nothing and the
range's count and digest (on the 48 fingerprint bits) agree with what came out; anything else (a false pure
cell peeled, identical elements cancelling, a stored sketch that disagrees with its digest) is incomplete.
An incomplete range does not fall back to everything: its `send` is every listed object the sketch cannot
prove unchanged. A listed object in the difference keeps its three cells occupied once every other element
found is taken out, so an object with an empty cell is unchanged, and the rest is sent; but only a cell no
guess touched proves it. A value read from a cell is trusted only as far as its 16-bit check, and a listed
element found by side information only as far as the check of what it leaves (a cell holding just a changed
object's two versions has a key-hash field of zero, so every listed element of that cell passes the key-hash
test): a wrong one empties cells of a changed object. Trusting them missed a changed object in about 1 range
in 400 at 10 to 20 changed keys (tests/unit/test_sketch.py, near capacity); now a cell such a step touched
proves nothing about an object the step could have hidden, which sends more rows from incomplete ranges (5%
scattered: 1.83 rows per change, 1.26 when they were trusted): the price of never a stale row. Deletes of an
incomplete range are unknown (None): in a versioned bucket look up its delete markers; otherwise report it (the
count still gives deleted - added exactly).

Key-hash collisions: two keys of a range with the same 16-bit key hash share their cells; if both change in
one sync they cannot be told apart (incomplete, both sent); a delete and a new key with the same key hash look
like one changed object to the sketch (`Reconciliation.paired`). The sketch never decides how many keys a range
lost: deletes.py checks its pairing against the range's key sum, which tells the two apart.

CPU: building is a key hash (CRC-32 of the UTF-8 key), a few integer operations to pack the element, one
table look-up and three XORs per object: about 1 µs per object (0.35 the key hash, 0.3 packing, 0.3 the XORs;
about what `ranges.fingerprint` costs now that it reads LastModified's text off the listing), paid in every
range of a full sync and in ranges whose count and digest differ, so nothing in an unchanged bucket. The cell
table behind the look-up costs about 30 ms once per sketch size and process. Reconciling a changed range costs
about half a fingerprint per listed object at 1% changed, one at 5%.
"""
from __future__ import annotations

import base64
import binascii
import threading
import zlib
from array import array
from collections import Counter
from dataclasses import dataclass
from typing import Collection, Iterable, NamedTuple, Sequence

HASHES = 3
KEY_HASH_BITS = 16
FINGERPRINT_BITS = 48
CHECK_BITS = 16
CELL_BYTES = (KEY_HASH_BITS + FINGERPRINT_BITS + CHECK_BITS) // 8
# Cells per range of the default 250 objects, and the bounds `cells_for` keeps to.
CELLS_PER_250 = 24
MIN_CELLS = 6
MAX_CELLS = 96

_FP_MASK = (1 << FINGERPRINT_BITS) - 1
_CHECK_MASK = (1 << CHECK_BITS) - 1
_KEY_SHIFT = FINGERPRINT_BITS + CHECK_BITS
_MASK64 = (1 << 64) - 1
# Odd 64-bit multipliers (golden ratio, SplitMix64): cheap mixing whose high bits depend on every input bit.
_GOLDEN = 0x9E3779B97F4A7C15
_MIX = 0xBF58476D1CE4E5B9


class Element(NamedTuple):
    """What one object contributes: a hash of its key alone and the fingerprint of its key and columns."""

    key_hash: int
    fingerprint: int


def key_hash(key: str) -> int:
    """The 16-bit hash of a key alone: CRC-32, mixed so that its top bits depend on all of it."""
    return ((zlib.crc32(key.encode("utf-8", "surrogatepass")) * _GOLDEN) & _MASK64) >> 48


def cells_for(range_size: int) -> int:
    """Cells for ranges of about `range_size` objects: proportional, a multiple of 3, within the bounds."""
    wanted = round(range_size * CELLS_PER_250 / 250 / HASHES) * HASHES
    return max(MIN_CELLS, min(MAX_CELLS, wanted))


def _check(fp: int) -> int:
    """A check of a fingerprint that is not linear over XOR, so the check of a XOR of several differs."""
    return ((fp * _MIX) & _MASK64) >> (64 - CHECK_BITS)


def _pack(kh: int, fp: int) -> int:
    _check_key_hashes((kh,))
    fp &= _FP_MASK
    return (kh << _KEY_SHIFT) | (fp << CHECK_BITS) | _check(fp)


def _check_key_hashes(key_hashes: Sequence[int]) -> None:
    if key_hashes and (min(key_hashes) < 0 or max(key_hashes) >> KEY_HASH_BITS):
        raise ValueError(f"key hashes are {KEY_HASH_BITS}-bit values from sketch.key_hash, not "
                         f"{min(key_hashes)}..{max(key_hashes)}")


def _pack_all(key_hashes: Sequence[int], fingerprints: Sequence[int]) -> list[int]:
    """`_pack` over a whole range, inlined: this runs once per listed object of a changed range."""
    if len(key_hashes) != len(fingerprints):
        raise ValueError(f"{len(key_hashes)} key hashes for {len(fingerprints)} fingerprints")
    _check_key_hashes(key_hashes)
    fp_mask, mix, mask, shift, key_shift = _FP_MASK, _MIX, _MASK64, 64 - CHECK_BITS, _KEY_SHIFT
    return [(kh << key_shift) | (fp << CHECK_BITS) | (((fp * mix) & mask) >> shift)
            for kh, fp in zip(key_hashes, (f & fp_mask for f in fingerprints))]


def _unpack(x: int) -> Element:
    return Element(x >> _KEY_SHIFT, (x >> CHECK_BITS) & _FP_MASK)


def _three_cells(kh: int, m: int) -> tuple[int, int, int]:
    """Three distinct cells out of `m`, chosen by the key hash alone."""
    h = (kh * _GOLDEN) & _MASK64
    a = (((h >> 48) & 0xFFFF) * m) >> 16
    b = (((h >> 32) & 0xFFFF) * (m - 1)) >> 16
    if b >= a:
        b += 1
    lo, hi = (a, b) if a < b else (b, a)
    c = (((h >> 16) & 0xFFFF) * (m - 2)) >> 16
    if c >= lo:
        c += 1
    if c >= hi:
        c += 1
    return a, b, c


# Cell tables by size, the most recently built last; at most _TABLES_KEPT (384 KB each) are kept.
_TABLES: dict[int, array] = {}
_TABLES_KEPT = 4
_TABLES_LOCK = threading.Lock()


def _cell_table(m: int) -> array:
    """The three cells of every possible key hash for `m` cells, flat (384 KB, computed once per size).

    Building one costs about 30 ms of CPU, as much as a full sync spends on 2,000 objects. The listing workers of
    a full sync all reach their first range at the same moment, so without the lock each of them (up to 8) built
    its own copy; now one builds it and the others wait for it. Reading a built table takes no lock.
    """
    table = _TABLES.get(m)
    if table is None:
        with _TABLES_LOCK:
            table = _TABLES.get(m)
            if table is None:
                table = _build_cell_table(m)
                while len(_TABLES) >= _TABLES_KEPT:
                    del _TABLES[next(iter(_TABLES))]
                _TABLES[m] = table
    return table


def _build_cell_table(m: int) -> array:
    """`_three_cells(kh, m)` for every key hash in order, inlined (and the key hash's product with _GOLDEN kept as a
    running sum) because this runs 65,536 times per table; `test_sketch` holds it to `_three_cells`."""
    out: list[int] = []
    extend = out.extend
    golden, mask, m1, m2 = _GOLDEN, _MASK64, m - 1, m - 2
    h = 0
    for _ in range(1 << KEY_HASH_BITS):
        a = ((h >> 48) * m) >> 16
        b = (((h >> 32) & 0xFFFF) * m1) >> 16
        if b >= a:
            b += 1
            lo, hi = a, b
        else:
            lo, hi = b, a
        c = (((h >> 16) & 0xFFFF) * m2) >> 16
        if c >= lo:
            c += 1
        if c >= hi:
            c += 1
        extend((a, b, c))
        h = (h + golden) & mask
    return array("H", out)


def _cells_of(kh: int, m: int) -> tuple[int, int, int]:
    table = _cell_table(m)
    base = 3 * kh
    return table[base], table[base + 1], table[base + 2]


def _pure(x: int, cell: int, m: int) -> bool:
    """Whether `x`, found in `cell`, is one element: its check matches and its key hash leads to this cell."""
    if x & _CHECK_MASK != _check((x >> CHECK_BITS) & _FP_MASK):
        return False
    return cell in _cells_of(x >> _KEY_SHIFT, m)


def _fill(table: list[int], packed: Iterable[int]) -> None:
    """XOR every packed element into its three cells: the hot loop, a table look-up and three XORs."""
    cells = _cell_table(len(table))
    shift = _KEY_SHIFT
    for x in packed:
        base = 3 * (x >> shift)
        table[cells[base]] ^= x
        table[cells[base + 1]] ^= x
        table[cells[base + 2]] ^= x


@dataclass(eq=True)
class Sketch:
    """An invertible Bloom lookup table over Elements; each cell is one packed integer (key hash, fp, check)."""

    cells: list[int]

    def __post_init__(self) -> None:
        if len(self.cells) < 2 * HASHES:
            raise ValueError(f"a sketch has at least {2 * HASHES} cells, not {len(self.cells)}")

    @classmethod
    def empty(cls, cells: int) -> Sketch:
        return cls([0] * cells)

    @classmethod
    def build(cls, cells: int, key_hashes: Sequence[int], fingerprints: Sequence[int]) -> Sketch:
        """The sketch of the objects whose key hashes and fingerprints are given, in the same order."""
        sketch = cls.empty(cells)
        _fill(sketch.cells, _pack_all(key_hashes, fingerprints))
        return sketch

    def insert(self, element: Element) -> None:
        """Add one element (adding the same element again removes it)."""
        _fill(self.cells, (_pack(*element),))

    def merge(self, other: Sketch) -> Sketch:
        """The sketch of the union of two disjoint sets, such as two neighbouring ranges."""
        if len(other.cells) != len(self.cells):
            raise ValueError(f"cannot combine sketches of {len(self.cells)} and {len(other.cells)} cells")
        return Sketch([a ^ b for a, b in zip(self.cells, other.cells)])

    def subtract(self, other: Sketch) -> Sketch:
        """The sketch of the symmetric difference: the same XOR as `merge`, named for its use."""
        return self.merge(other)

    def peel(self, present: Collection[Element] = ()) -> PeelResult:
        """The elements of this difference sketch. `present`: the current elements; those found are "appeared".

        Without `present`, only elements alone in a cell can be found and all count as disappeared.
        """
        table = list(self.cells)
        appeared, disappeared, _ = _decode(table, {_pack(*e) for e in present})
        return PeelResult([_unpack(x) for x in appeared], [_unpack(x) for x in disappeared], not any(table))

    def to_bytes(self) -> bytes:
        return b"".join(c.to_bytes(CELL_BYTES, "big") for c in self.cells)

    @classmethod
    def from_bytes(cls, data: bytes) -> Sketch:
        if len(data) % CELL_BYTES:
            raise ValueError(f"a sketch is a whole number of {CELL_BYTES}-byte cells, not {len(data)} bytes")
        return cls([int.from_bytes(data[i:i + CELL_BYTES], "big") for i in range(0, len(data), CELL_BYTES)])

    def to_text(self) -> str:
        """Base85 (RFC 1924 alphabet, which has no quote or backslash), for the JSON state."""
        return base64.b85encode(self.to_bytes()).decode("ascii")

    @classmethod
    def from_text(cls, text: str) -> Sketch:
        try:
            data = base64.b85decode(text.encode("ascii"))
        except (ValueError, binascii.Error, UnicodeEncodeError):
            raise ValueError("a sketch must be base85 text") from None
        return cls.from_bytes(data)


@dataclass(frozen=True)
class PeelResult:
    appeared: list[Element]
    disappeared: list[Element]
    complete: bool


class Trusted(NamedTuple):
    """A step `_decode` took on a 16-bit check: it began at `cell`, XORed into `touched`, when `occupied` (a bit per
    cell) were the cells not yet empty."""

    cell: int
    touched: tuple[int, int, int]
    occupied: int


def _decode(table: list[int], listed: Collection[int]) -> tuple[list[int], list[int], list[Trusted]]:
    """Peel `table` in place into appeared (members of `listed`) and disappeared packed elements, and the steps taken
    on trust.

    A cell holding one element is peeled as usual. A cell that does not, once every pure cell is gone, is tried
    with side information: for each listed element mapped to it whose three cells are all occupied, if the
    cell without that element is pure, the element is in the difference. This is what finds changed objects,
    whose old and new versions share their cells. An element peeled twice means a false pure cell was peeled:
    decoding stops there, incomplete.

    A cell that equals a listed element is that element (a false match is 2^-80). A cell emptied by peeling a value
    that is not listed was trusted on its 16-bit check alone, and so was the listed element a side-information
    step took out before it: a cell holding a changed object's two versions has a key-hash field of zero, so any
    listed element of that cell passes the key-hash test, and one in 65,536 passes the check too. Such steps are
    returned, so that `_unproven` does not take what they emptied as proof.
    """
    m = len(table)
    appeared: list[int] = []
    disappeared: list[int] = []
    trusted: list[Trusted] = []
    peeled: set[int] = set()
    stack = list(range(m))
    waiting: list[int] = []
    by_cell: list[list[int]] | None = None

    def trust(cell: int, x: int) -> None:
        occupied = 0
        for c in range(m):
            if table[c]:
                occupied |= 1 << c
        trusted.append(Trusted(cell, _cells_of(x >> _KEY_SHIFT, m), occupied))

    def remove(x: int) -> None:
        peeled.add(x)
        (appeared if x in listed else disappeared).append(x)
        for c in _cells_of(x >> _KEY_SHIFT, m):
            table[c] ^= x
            stack.append(c)

    while True:
        while stack:
            cell = stack.pop()
            x = table[cell]
            if not x:
                continue
            if x in listed or _pure(x, cell, m):
                if x in peeled:
                    return appeared, disappeared, trusted
                if x not in listed:
                    trust(cell, x)
                remove(x)
            else:
                waiting.append(cell)
        found = None
        while waiting and found is None:
            cell = waiting.pop()
            x = table[cell]
            if not x:
                continue
            if by_cell is None:  # listed elements that may be in the difference: all their cells occupied
                by_cell = [[] for _ in range(m)]
                for e in listed:
                    cells = _cells_of(e >> _KEY_SHIFT, m)
                    if e not in peeled and table[cells[0]] and table[cells[1]] and table[cells[2]]:
                        for c in cells:
                            by_cell[c].append((e, cells))
            for e, (a, b, c) in by_cell[cell]:
                if e in peeled or not (table[a] and table[b] and table[c]):
                    continue
                y = x ^ e
                if y not in peeled and _pure(y, cell, m):
                    found = e
                    break
        if found is None:
            return appeared, disappeared, trusted
        trust(cell, found)
        remove(found)


@dataclass(frozen=True)
class Reconciliation:
    """What a range's stored sketch says about the objects listed in it now.

    `send`: indices of the listed objects to send, ascending. When `complete`, exactly the new and changed
    objects; otherwise a superset of them: every listed object the sketch cannot prove unchanged.
    `paired`: those of `send` that the sketch paired with a disappeared element of the same 16-bit key hash (when
    `complete`): changed objects, unless a deleted key and a new one share a key hash, which the sketch cannot tell.
    `changed`, `added`, `deleted`: the counts that pairing gives (None unless `complete`): what the sketch alone can
    say; deletes.py decides how many keys a range really lost, from the range's key sum.
    `current`: the sketch of the listed objects, to store for the next sync.
    `gone`: the 16-bit key hashes of the elements that left the range (lost keys, and changed objects' old
    versions), when `complete`: a key whose hash is not among them was not in the range when it was last listed.
    """

    send: list[int]
    complete: bool
    changed: int | None
    added: int | None
    deleted: int | None
    current: Sketch
    paired: tuple[int, ...] = ()
    gone: frozenset[int] | None = None


def reconcile(stored: Sketch, old_count: int, old_digest: int, key_hashes: Sequence[int],
              fingerprints: Sequence[int], suspects: Collection[int] = ()) -> Reconciliation:
    """Compare a range's stored sketch, count and 64-bit digest (sum of fingerprints) with its listing now.

    `suspects`: indices of listed objects that probably appeared or changed (event mode: the objects its events
    name). They are taken out of the difference before it is peeled, as if they had appeared, so a range many events
    changed decodes however many they were; a suspect that did not change shows up again in the difference, is peeled
    as listed, and so counts as unchanged.
    """
    n = len(fingerprints)
    m = len(stored.cells)
    packed = _pack_all(key_hashes, fingerprints)
    current = Sketch.empty(m)
    _fill(current.cells, packed)
    listed = {x: i for i, x in enumerate(packed)}
    if len(listed) != n:  # identical elements cancel in pairs: the sketch cannot see them
        return Reconciliation(list(range(n)), False, None, None, None, current)
    difference = current.subtract(stored).cells
    table = list(difference)
    assumed = {packed[i] for i in suspects}
    _fill(table, assumed)
    peeled, disappeared, trusted = _decode(table, listed)
    appeared = list(assumed.symmetric_difference(peeled))
    send = sorted(listed[x] for x in appeared)
    if not any(table):
        digest = sum(fingerprints) - sum((x >> CHECK_BITS) & _FP_MASK for x in appeared) \
            + sum((x >> CHECK_BITS) & _FP_MASK for x in disappeared)
        if n - len(appeared) + len(disappeared) == old_count and (digest - old_digest) & _FP_MASK == 0:
            paired = _paired(appeared, disappeared)
            changed = len(paired)
            return Reconciliation(send, True, changed, len(appeared) - changed, len(disappeared) - changed, current,
                                  tuple(sorted(listed[x] for x in paired)),
                                  frozenset(x >> _KEY_SHIFT for x in disappeared))
        # Peeled to nothing yet inconsistent with the count or digest: a difference the sketch cannot see.
        return Reconciliation(list(range(n)), False, None, None, None, current)
    return Reconciliation(_unproven(difference, packed, appeared, disappeared, trusted), False, None, None, None,
                          current)


def _paired(appeared: Sequence[int], disappeared: Sequence[int]) -> list[int]:
    """The appeared elements that have a disappeared element of the same key hash (each used once): the new
    versions of changed objects, as far as a 16-bit key hash can tell."""
    old_keys = Counter(x >> _KEY_SHIFT for x in disappeared)
    paired = []
    for x in appeared:
        if old_keys[x >> _KEY_SHIFT]:
            old_keys[x >> _KEY_SHIFT] -= 1
            paired.append(x)
    return paired


def _unproven(difference: list[int], packed: list[int], appeared: list[int], disappeared: list[int],
              trusted: Sequence[Trusted]) -> list[int]:
    """Indices of the listed objects the sketch cannot prove unchanged.

    Listed elements found are taken out of the difference, and so are the disappeared elements that share a key hash
    with one of them (the old versions of those changed objects). Any other value taken from a cell (a deleted
    object's) is left in. A listed object in the difference keeps all its cells occupied, so one empty cell proves it
    unchanged, but not by a cell a `trusted` step touched, if the object may be what that step took for something
    else: a wrong guess passes a 16-bit check one time in 65,536 and takes the whole content of the cell it began at,
    so a changed object it hid maps to that cell and had its three cells occupied then (its two versions in each).
    Such a step also empties the cells it touched that hold nothing else of the hidden object's.

    Taking out the old versions matters when two changed objects share all three cells (24 cells give 2,024 triples,
    so a range of 250 holds about 15 such pairs): their four elements never peel, and before, every old version found
    elsewhere stayed in the residual too, occupying its cells and leaving a dozen unchanged objects unproven.
    """
    m = len(difference)
    residual = list(difference)
    _fill(residual, appeared)
    if not any(residual):
        return list(range(len(packed)))
    found = set(appeared)
    keys = Counter(x >> _KEY_SHIFT for x in appeared)
    for y in disappeared:
        if keys[y >> _KEY_SHIFT]:
            keys[y >> _KEY_SHIFT] -= 1
            _fill(residual, (y,))
    unproven = []
    for i, x in enumerate(packed):
        cells = _cells_of(x >> _KEY_SHIFT, m)
        if x not in found:
            empty = [c for c in cells if not residual[c]]
            if empty:
                mask = (1 << cells[0]) | (1 << cells[1]) | (1 << cells[2])
                doubtful = {c for step in trusted if step.cell in cells and step.occupied & mask == mask
                            for c in step.touched}
                if any(c not in doubtful for c in empty):
                    continue
        unproven.append(i)
    return unproven
