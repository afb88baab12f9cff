"""Batch prediction over files: score a Parquet or CSV file chunk by chunk, in constant memory.

>>> result = predict_file(client, "churn@champion", "big.parquet", "scored.parquet", proba=True)
>>> result.model, result.rows, result.chunks
('churn@3', 1000000, 16)

The file is read ``chunk_rows`` rows at a time; each chunk goes through ``LoadedModel.predict`` (so
through the same signature validation as every other prediction) and is appended to the output at once,
so memory holds one chunk whatever the file's size. The output is written to a temporary file beside
``dest`` and renamed over it only when every chunk has succeeded: a chunk that fails leaves no partial
file, and the error names the rows it held.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

from shipyard.core._progress import progress as notebook_progress
from shipyard.core.errors import InvalidInput, NotFound, ShipyardError
from shipyard.data._files import data_columns
from shipyard.packaging.signature import Signature, logical_type

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from shipyard.packaging.package import LoadedModel
    from shipyard.tracking import Client

__all__ = ["INPUT_SUFFIXES", "OUTPUT_SUFFIXES", "BatchResult", "Progress", "predict_file"]

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2")
INPUT_SUFFIXES = PARQUET_SUFFIXES + CSV_SUFFIXES
OUTPUT_SUFFIXES = (*PARQUET_SUFFIXES, ".csv")

Progress = Callable[[int, int | None], None]
"""Called as ``progress(rows_done, total_rows)``: once with 0 before the first chunk, then after each chunk.
``total_rows`` is None when the source does not say (CSV)."""

# CSV columns the model takes are parsed as the signature's type rather than guessed from the first block:
# zip codes stay strings, and a float column whose first rows look like integers does not fail at "1.5".
_CSV_TYPES = {"integer": pa.int64(), "float": pa.float64(), "boolean": pa.bool_(), "string": pa.large_string()}
_PANDAS_INDEX = re.compile(r"^__index_level_\d+__$")


@dataclass(frozen=True)
class BatchResult:
    """What ``predict_file`` did: the model version (``name@version``), rows and chunks scored, wall time, output."""

    model: str
    rows: int
    chunks: int
    seconds: float
    output: Path

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "rows": self.rows,
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
            "output": str(self.output),
        }


@dataclass(frozen=True)
class _Source:
    schema: pa.Schema
    total: int | None
    batches: Iterator[pa.RecordBatch]


def predict_file(
    client: Client,
    ref: str,
    source: str | Path,
    dest: str | Path,
    *,
    chunk_rows: int = 65_536,
    proba: bool = False,
    keep_columns: Sequence[str] | None = None,
    output_column: str = "prediction",
    project: str | None = None,
    progress: Progress | None = None,
    trust_unsafe: bool = False,
) -> BatchResult:
    """Score every row of ``source`` with the model ``ref`` and write the rows with their predictions to ``dest``.

    ``source`` is a ``.parquet``/``.pq`` or ``.csv`` (optionally ``.gz``/``.bz2``) file; ``dest`` a
    ``.parquet``/``.pq`` or ``.csv`` file, replaced if it exists. The output holds the input's columns (or
    only ``keep_columns``), then ``output_column``, then with ``proba=True`` one ``proba_<i>`` column per
    class, in the order of the model's ``predict_proba``. The input may hold columns the model does not take.

    Raises ``NotFound`` for a missing file or model, and ``InvalidInput`` for an unsupported extension,
    columns the model takes missing from the file (before anything is scored), or a chunk the model's
    signature refuses (naming its rows; nothing is written then).
    """
    started = time.perf_counter()
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise InvalidInput(
            f"The 'chunk_rows' parameter of predict_file must be a positive number of rows. Got {chunk_rows!r} instead."
        )
    source, dest = Path(source), Path(dest)
    source_kind = _kind(source, INPUT_SUFFIXES, "input")
    dest_kind = _kind(dest, OUTPUT_SUFFIXES, "output")
    _check_paths(source, dest)
    version = client.models.get(ref, project=project)
    model = client.models.load(version, trust_unsafe=trust_unsafe)
    if proba and not model.has_predict_proba:
        raise InvalidInput(
            f"{version.ref} ({model.flavor}) gives no class probabilities, so proba=True (--proba) cannot apply; "
            "score without it."
        )
    reader = _open_source(source, source_kind, model.signature, chunk_rows, keep_columns)
    _check_fits(reader.schema, model.signature, source, version.ref)
    keep = _kept_columns(reader.schema, keep_columns, source)
    writer = _ChunkWriter(dest, dest_kind)
    rows = chunks = 0
    with writer, notebook_progress(f"scoring with {version.ref}", unit="rows") as tick:
        report = progress if progress is not None else tick  # the caller's, else a bar in a notebook only
        report(0, reader.total)
        for chunk in _rechunk(reader.batches, chunk_rows):
            with _rows_context(rows, chunk.num_rows, source, version.ref):
                writer.write(_score(model, chunk, keep, output_column, proba=proba))
            rows += chunk.num_rows
            chunks += 1
            report(rows, reader.total)
        if rows == 0:
            raise InvalidInput(f"{str(source)!r} has no rows to score.")
    return BatchResult(version.ref, rows, chunks, time.perf_counter() - started, dest)


# --- paths and formats --------------------------------------------------------------------------------
def _kind(path: Path, suffixes: tuple[str, ...], role: str) -> str:
    name = path.name.lower()
    if not name.endswith(suffixes):
        ending = f"ends in {path.suffix!r}" if path.suffix else "has no extension"
        raise InvalidInput(
            f"The {role} file {str(path)!r} {ending}; batch prediction {'reads' if role == 'input' else 'writes'} "
            f"files ending in {', '.join(suffixes)}. Rename or convert it."
        )
    return "parquet" if name.endswith(PARQUET_SUFFIXES) else "csv"


def _check_paths(source: Path, dest: Path) -> None:
    if not source.is_file():
        what = "a folder, not a file" if source.is_dir() else "not there"
        raise NotFound(f"The input file {str(source)!r} is {what}; check the path.")
    if not dest.parent.is_dir():
        raise NotFound(f"The folder {str(dest.parent)!r} for the output does not exist; create it first.")
    if dest.exists() and dest.resolve() == source.resolve():
        raise InvalidInput(f"The output {str(dest)!r} is the input file; write the predictions to another file.")


# --- reading ------------------------------------------------------------------------------------------
def _open_source(
    path: Path, kind: str, signature: Signature, chunk_rows: int, keep_columns: Sequence[str] | None
) -> _Source:
    if kind == "parquet":
        return _parquet(path, signature, chunk_rows, keep_columns)
    return _csv(path, signature, chunk_rows)


def _parquet(path: Path, signature: Signature, chunk_rows: int, keep_columns: Sequence[str] | None) -> _Source:
    import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInput(f"{str(path)!r} is not a readable Parquet file: {exc}") from exc
    everything = data_columns(parquet.schema_arrow)
    schema = pa.schema([parquet.schema_arrow.field(name) for name in everything])  # all, to check keep_columns
    names = everything
    if keep_columns is not None:  # read only what is scored or kept
        wanted = set(keep_columns) | set(signature.column_names)
        names = [name for name in everything if name in wanted]
    batches = parquet.iter_batches(batch_size=chunk_rows, columns=names, use_pandas_metadata=False)
    return _Source(schema, parquet.metadata.num_rows, _guard_reads(path, batches, _parquet_problem))


def _csv(path: Path, signature: Signature, chunk_rows: int) -> _Source:
    import pyarrow.csv as pacsv  # type: ignore[import-untyped, unused-ignore]

    # pyarrow reads a CSV file one block of bytes at a time; about 64 bytes a row keeps a block near a chunk.
    read_options = pacsv.ReadOptions(block_size=max(1 << 16, min(chunk_rows * 64, 1 << 26)))
    types = {c.name: _CSV_TYPES[c.type] for c in signature.inputs if c.type in _CSV_TYPES}
    convert_options = pacsv.ConvertOptions(column_types=types, strings_can_be_null=True)
    try:
        reader = pacsv.open_csv(path, read_options=read_options, convert_options=convert_options)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInput(f"{str(path)!r} could not be read as CSV: {exc}") from exc
    names = reader.schema.names

    def explain(exc: Exception, first_row: int) -> str:
        # pyarrow names the column by number and not the row: "In CSV column #1: … invalid value 'abc'".
        match = re.fullmatch(r"In CSV column #(\d+): (.*invalid value '(.*)')", str(exc), re.DOTALL)
        if match is None or int(match[1]) >= len(names):
            return f"at or after row {first_row:,} (counting from 0): {exc}"
        column = names[int(match[1])]
        row = _find_value(path, read_options, column, match[3], first_row)
        where = f"at or after row {first_row:,}" if row is None else f"at row {row:,}"
        return (
            f"{where} (counting from 0), column {column!r}: {match[2]}. Fix the value, or convert the file to "
            "Parquet with explicit column types."
        )

    return _Source(reader.schema, None, _guard_reads(path, reader, explain))


def _find_value(path: Path, read_options: Any, column: str, value: str, start: int) -> int | None:
    """The first row from ``start`` on whose ``column`` holds the text ``value``: where a conversion failed."""
    import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]
    import pyarrow.csv as pacsv  # type: ignore[import-untyped, unused-ignore]

    convert = pacsv.ConvertOptions(include_columns=[column], column_types={column: pa.large_string()})
    row = 0
    with contextlib.suppress(pa.ArrowException, OSError):
        for batch in pacsv.open_csv(path, read_options=read_options, convert_options=convert):
            offset = max(start - row, 0)
            if offset < batch.num_rows:
                found = pc.index(batch.column(0).slice(offset), value).as_py()
                if found >= 0:
                    return int(row + offset + found)
            row += batch.num_rows
    return None


def _guard_reads(
    path: Path, batches: Iterable[pa.RecordBatch], explain: Callable[[Exception, int], str]
) -> Iterator[pa.RecordBatch]:
    """``batches``, turning a read failure into ``InvalidInput`` saying where (``explain(error, rows read)``)."""
    rows = 0
    iterator = iter(batches)
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as exc:
            raise InvalidInput(f"Reading {str(path)!r} failed {explain(exc, rows)}") from exc
        rows += batch.num_rows
        yield batch


def _parquet_problem(exc: Exception, first_row: int) -> str:
    return f"at or after row {first_row:,} (counting from 0): {exc}. The file may be truncated or corrupt."


def _rechunk(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Tables of exactly ``rows`` rows (the last one fewer), whatever sizes the reader's batches have."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        while batch.num_rows:
            take = min(rows - count, batch.num_rows)
            pending.append(batch.slice(0, take))
            count += take
            batch = batch.slice(take)
            if count == rows:
                yield pa.Table.from_batches(pending)
                pending, count = [], 0
    if count:
        yield pa.Table.from_batches(pending)


# --- checking -----------------------------------------------------------------------------------------
def _check_fits(schema: pa.Schema, signature: Signature, source: Path, ref: str) -> None:
    """Every column the model takes is in the file, with a type that can feed it (values are checked per chunk)."""
    names = schema.names
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidInput(f"{str(source)!r} repeats the column(s) {', '.join(map(repr, repeated))}; rename them.")
    problems: dict[str, str] = {}
    for spec in signature.inputs:
        if spec.name not in names:
            problems[spec.name] = f"is missing (expected {spec.type})"
            continue
        arrow_type = schema.field(spec.name).type
        got = "null" if pa.types.is_null(arrow_type) else logical_type(arrow_type)
        # The rule of signature.validate_input: integers feed floats, whole floats feed integers.
        if got not in ("null", spec.type) and {got, spec.type} != {"integer", "float"}:
            problems[spec.name] = f"is {got or arrow_type} in the file, expected {spec.type}"
    if problems:
        lines = "\n".join(f"  - '{name}': {problem}" for name, problem in problems.items())
        takes = ", ".join(f"{c.name} ({c.type}{', nullable' if c.nullable else ''})" for c in signature.inputs)
        raise InvalidInput(
            f"{str(source)!r} does not fit the model {ref} ({len(problems)} problem{'s' if len(problems) > 1 else ''}):"
            f"\n{lines}\nThe model takes: {takes}. Other columns of the file are carried over to the output."
        )


def _kept_columns(schema: pa.Schema, keep_columns: Sequence[str] | None, source: Path) -> list[str]:
    names = list(schema.names)
    if keep_columns is None:
        return names
    keep = list(dict.fromkeys(keep_columns))
    unknown = [name for name in keep if name not in names]
    if unknown:
        hints = [_did_you_mean(name, names) for name in unknown]
        raise InvalidInput(
            f"keep_columns names column(s) {str(source)!r} does not have: {', '.join(hints)}. "
            f"Its columns: {', '.join(names)}."
        )
    return keep


def _did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name)


@contextlib.contextmanager
def _rows_context(first: int, count: int, source: Path, ref: str) -> Iterator[None]:
    """Say which rows were being scored when something fails: in the message, or as a note on other errors."""
    where = f"rows {first:,}\u2013{first + count - 1:,} of {str(source)!r} (counting from 0)"
    try:
        yield
    except InvalidInput as exc:
        raise InvalidInput(f"Scoring {where} with {ref} failed: {exc}") from exc
    except ShipyardError:
        raise
    except Exception as exc:
        exc.add_note(f"while scoring {where} with {ref}")
        raise


# --- scoring and writing ------------------------------------------------------------------------------
def _score(model: LoadedModel, chunk: pa.Table, keep: list[str], output_column: str, *, proba: bool) -> pa.Table:
    features = chunk.select(model.signature.column_names)
    scored = _columns(model.predict(features), output_column)
    if proba:
        scored.update(_columns(model.predict_proba(features), "proba", always_split=True))
    clash = [name for name in scored if name in keep]
    if clash:
        raise InvalidInput(
            f"The input already has the column(s) {', '.join(map(repr, clash))}, where predictions would go. "
            "Pass another output_column, or leave them out of keep_columns (--columns)."
        )
    return pa.table({**{name: chunk.column(name) for name in keep}, **scored})


def _columns(values: NDArray[Any], name: str, *, always_split: bool = False) -> dict[str, pa.Array]:
    """One column ``name`` for one value per row; ``name_0`` … ``name_k`` for k values per row."""
    if values.ndim == 1 and not always_split:
        return {name: pa.array(values)}
    matrix = values.reshape(len(values), -1)
    return {f"{name}_{i}": pa.array(matrix[:, i]) for i in range(matrix.shape[1])}


class _ChunkWriter:
    """Appends tables to a temporary file beside ``dest``: renamed to ``dest`` on a clean exit, deleted otherwise."""

    def __init__(self, dest: Path, kind: str) -> None:
        self._dest = dest
        self._kind = kind
        self._writer: Any = None
        self._schema: pa.Schema | None = None
        # Not mkstemp: its file is private (0600), and the renamed output should get the usual permissions.
        self._temp = dest.parent / f".{dest.name}.{uuid.uuid4().hex[:12]}.partial"

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            self._schema = table.schema
            self._writer = self._open(table.schema)
        elif table.schema != self._schema:
            try:
                table = table.cast(self._schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise InvalidInput(
                    f"These rows' output has the types {table.schema.types} where earlier rows had "
                    f"{self._schema.types if self._schema else []}: {exc}"
                ) from exc
        self._writer.write_table(table)

    def _open(self, schema: pa.Schema) -> Any:
        if self._kind == "parquet":
            import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

            return pq.ParquetWriter(self._temp, schema)
        import pyarrow.csv as pacsv  # type: ignore[import-untyped, unused-ignore]

        return pacsv.CSVWriter(self._temp, schema)

    def __enter__(self) -> _ChunkWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        try:
            if self._writer is not None:
                self._writer.close()
            if kind is None:
                os.replace(self._temp, self._dest)
        finally:
            self._temp.unlink(missing_ok=True)
