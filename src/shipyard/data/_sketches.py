"""Bounded-memory, vectorised summaries the profiler builds while the rows stream past.

- ``hash64`` / ``hash_strings``: deterministic 64-bit hashes of values (not of Python objects: stable across
  processes and machines).
- ``DistinctSketch``: K-minimum-values; exact while a column has at most ``k`` distinct values.
- ``RowSample``: a uniform sample of rows, chosen by a hash of the row number, so it is the same sample
  whatever the chunking.
- ``HeavyHitters``: bounded value counts (a mergeable Misra-Gries summary).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from shipyard.data.summary import most_frequent

U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def mix64(values: U64) -> U64:
    """The splitmix64 finaliser, element-wise: a fast bijection on 64-bit words that scatters every input bit."""
    z = values + _GOLDEN
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def hash64(values: npt.NDArray[Any]) -> U64:
    """Hash fixed-width numbers by their bits (int64, float64, or narrower ints widened to int64 first)."""
    if values.dtype.itemsize != 8:
        values = values.astype(np.int64)
    return mix64(values.view(np.uint64))


_WORD_POSITION = np.uint64(0x9FB21C651E98DF25)


def hash_strings(strings: pa.Array) -> U64:
    """64-bit hashes of the values of a null-free ``large_string`` array, vectorised over 8-byte words.

    Each string is cut into little-endian 8-byte words (the last one zero-padded); each word is mixed with
    its position in the string, the words' hashes are summed per string, and the sum is mixed with the
    string's length. Good enough to count distinct values; not cryptographic.
    """
    buffers = strings.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64, count=len(strings) + 1, offset=strings.offset * 8)
    lengths = np.diff(offsets)
    sums = np.zeros(len(strings), dtype=np.uint64)
    if buffers[2] is not None and offsets[-1] > offsets[0]:
        padded = np.zeros(offsets[-1] - offsets[0] + 8, dtype=np.uint8)
        padded[:-8] = np.frombuffer(buffers[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
        # Element k of this overlapping view is the 8 bytes from byte k, so a word can start at any byte.
        words_at = np.ndarray(shape=(padded.size - 7,), dtype="<u8", buffer=padded, strides=(1,))
        count = (lengths + 7) >> 3  # words per string
        first = np.cumsum(count) - count  # index of each string's first word
        number = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(first, count)  # word's place in its string
        words = words_at[np.repeat(offsets[:-1] - offsets[0], count) + (number << 3)]
        left = np.repeat(lengths, count) - (number << 3)  # bytes of the string from this word on
        short = left < 8
        words[short] &= (np.uint64(1) << (left[short].astype(np.uint64) << np.uint64(3))) - np.uint64(1)
        mixed = mix64(words ^ (number.astype(np.uint64) * _WORD_POSITION))
        # Prefix sums wrap modulo 2**64, so differences of them are exact per-string sums.
        prefix = np.zeros(len(mixed) + 1, dtype=np.uint64)
        np.cumsum(mixed, out=prefix[1:])
        sums = prefix[first + count] - prefix[first]
    return mix64(sums ^ mix64(lengths.view(np.uint64)))


class DistinctSketch:
    """Count distinct values: keeps the ``k`` smallest distinct 64-bit hashes (KMV).

    The count is exact (bar 64-bit hash collisions) while at most ``k`` distinct values were seen; beyond,
    the estimate ``(k - 1) / h_k`` has a relative standard error of about ``1 / sqrt(k - 2)`` (1.6 % for
    k = 4,096), and does not depend on the order or chunking of the values.
    """

    def __init__(self, k: int = 4096) -> None:
        self.k = k
        self._kept: U64 = np.empty(0, dtype=np.uint64)  # sorted, distinct

    @property
    def full(self) -> bool:
        return len(self._kept) >= self.k

    def add(self, hashes: U64) -> None:
        """Add hashes (duplicates allowed)."""
        if self.full:
            hashes = hashes[hashes < self._kept[-1]]
        elif len(hashes) > 4 * self.k:
            hashes = self._smallest_distinct(hashes)
        if len(hashes):
            self._kept = np.union1d(self._kept, hashes)[: self.k]

    def add_numbers(self, values: npt.NDArray[Any]) -> None:
        """Add fixed-width numbers (int64 / float64 / int32), hashed by their bits."""
        bits = values.view(np.int64) if values.dtype.itemsize == 8 else values.astype(np.int64)
        if not self.full and len(bits) > 4 * self.k and len(np.unique(bits[:2048])) < min(len(bits), 2048) // 2:
            # Few distinct values: deduplicating first (one hash table) is cheaper than hashing them all.
            bits = _distinct(bits)
        self.add(hash64(bits))

    def _smallest_distinct(self, hashes: U64) -> U64:
        """At least the ``k`` smallest distinct values of ``hashes`` (all of them if there are fewer).

        Hashes are uniform, so a threshold at ``4k / n`` of the range keeps about ``4k`` of them; if, through
        repeated values, that holds fewer than ``k`` distinct ones, raise the threshold and look again.
        """
        fraction = 4 * self.k / len(hashes)
        while fraction < 1.0:
            below = hashes[hashes < np.uint64(min(int(fraction * 2.0**64), 2**64 - 1))]
            if len(below) > 16 * self.k:  # heavily repeated values: a hash table is cheaper than sorting
                break
            distinct = np.unique(below)
            if len(distinct) >= self.k:
                return distinct
            fraction *= 2 * self.k / max(len(distinct), 1)
        return _distinct(hashes)

    def estimate(self) -> int:
        if not self.full:
            return len(self._kept)
        kth = (float(self._kept[-1]) + 1.0) / 2.0**64  # the k-th smallest hash, scaled to (0, 1]
        return round((self.k - 1) / kth)


class RowSample:
    """A uniform sample of at most ``k`` rows of some numeric columns, values as float64 (NaN for null).

    Row ``i`` gets the priority ``mix64(i)``; the sample is the ``k`` rows of lowest priority (bottom-k
    sampling). It depends only on the rows and their order, never on how they were chunked, and it holds
    every row while there are at most ``k``.
    """

    def __init__(self, columns: list[str], k: int = 65_536) -> None:
        self.k = k
        self._priority: U64 = np.empty(0, dtype=np.uint64)
        self._values: dict[str, list[F64]] = {name: [] for name in columns}
        self._parts: list[U64] = []
        self._threshold: np.uint64 | None = None  # only rows below it can still enter the sample

    def add(self, first_row: int, columns: dict[str, pa.Array]) -> None:
        """Offer the rows ``first_row, first_row + 1, …`` of ``columns`` (each a numeric Arrow array)."""
        rows = len(next(iter(columns.values()))) if columns else 0
        if rows == 0:
            return
        priority = mix64(np.arange(first_row, first_row + rows, dtype=np.uint64))
        if self._threshold is None:
            chosen = None
        else:
            picked = np.flatnonzero(priority < self._threshold)
            if len(picked) == 0:
                return
            priority, chosen = priority[picked], pa.array(picked)
        self._parts.append(priority)
        for name, column in columns.items():
            taken = column if chosen is None else column.take(chosen)
            self._values[name].append(taken.to_numpy(zero_copy_only=False).astype(np.float64, copy=False))
        if sum(len(p) for p in self._parts) >= 2 * self.k:
            self._compact()

    def values(self, name: str) -> F64:
        """The sampled non-null values of column ``name``."""
        self._compact()
        (values,) = self._values[name] or [np.empty(0)]
        return values[~np.isnan(values)]

    def _compact(self) -> None:
        if len(self._parts) == 1 and len(self._parts[0]) <= self.k:
            return
        priority = np.concatenate(self._parts) if self._parts else np.empty(0, dtype=np.uint64)
        keep = np.argpartition(priority, self.k - 1)[: self.k] if len(priority) > self.k else None
        if keep is not None:
            priority = priority[keep]
            self._threshold = priority.max()
        self._parts = [priority]
        for name, parts in self._values.items():
            joined = np.concatenate(parts) if parts else np.empty(0)
            self._values[name] = [joined if keep is None else joined[keep]]


class HeavyHitters:
    """Value counts kept to at most ``capacity`` values (mergeable Misra-Gries summary).

    Exact (every value and its count) until more than ``capacity`` distinct values were seen. After that,
    each kept count is an undercount by at most ``undercount`` (≤ rows / (capacity + 1)), and every value
    more frequent than that bound is still kept.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self.values: pa.Array = pa.array([], pa.large_string())
        self.counts: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self.undercount = 0

    @property
    def exact(self) -> bool:
        return self.undercount == 0

    def add(self, values: pa.Array, counts: npt.NDArray[np.int64]) -> None:
        """Add distinct ``values`` with their ``counts``."""
        if len(self.counts):
            # Values already counted get their counts added in place; new ones are appended.
            found = pc.index_in(values, value_set=self.values)
            known = found.is_valid().to_numpy(zero_copy_only=False)
            merged = self.counts.copy()
            merged[pc.fill_null(found, 0).to_numpy()[known]] += counts[known]  # values are distinct: no repeats
            fresh = np.flatnonzero(~known)
            values = pa.concat_arrays([self.values, values.take(pa.array(fresh))])
            counts = np.concatenate([merged, counts[fresh]])
        if len(counts) > self.capacity:
            # Misra-Gries merge: subtract the (capacity+1)-th largest count from all, keep the positive rest.
            cut = int(np.partition(counts, len(counts) - self.capacity - 1)[len(counts) - self.capacity - 1])
            keep = np.flatnonzero(counts > cut)
            values, counts = values.take(pa.array(keep)), counts[keep] - cut
            self.undercount += cut
        self.values, self.counts = values, counts.astype(np.int64, copy=False)

    def top(self, n: int) -> list[tuple[str, int]]:
        """The ``n`` most frequent values, most frequent first, ties by value."""
        return most_frequent(self.values.to_pylist(), self.counts.tolist(), n)


def _distinct(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The distinct values of a 64-bit numpy array (Arrow's hash table: linear in the input, unsorted)."""
    distinct: npt.NDArray[Any] = pc.unique(pa.array(values)).to_numpy()
    return distinct


def value_counts(column: pa.Array) -> tuple[pa.Array, npt.NDArray[np.int64]]:
    """The distinct non-null values of ``column`` and how often each occurs."""
    counted = pc.value_counts(column.drop_null() if column.null_count else column)
    return counted.field("values"), counted.field("counts").to_numpy()
