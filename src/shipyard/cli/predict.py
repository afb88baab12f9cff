"""``shipyard predict``: score a Parquet or CSV file with a registered model, chunk by chunk.

The progress bar goes to stderr, and only to a terminal: piped output and ``--json`` stay clean.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipyard.cli._output import console, plural, print_json
from shipyard.cli._state import open_client
from shipyard.cli.datasets import JsonOption, ProjectOption
from shipyard.core.errors import InvalidInput

if TYPE_CHECKING:
    from rich.console import Console


def register(app: typer.Typer) -> None:
    """Add ``predict`` to the root command."""
    app.command("predict")(predict)


def predict(
    ctx: typer.Context,
    ref: Annotated[
        str,
        typer.Argument(help="NAME (the newest active version), NAME@VERSION or NAME@ALIAS.", metavar="REF"),
    ],
    source: Annotated[Path, typer.Argument(help="The rows to score: .parquet, .pq or .csv.", metavar="INPUT")],
    dest: Annotated[
        Path, typer.Argument(help="Where to write rows and predictions: .parquet, .pq or .csv.", metavar="OUTPUT")
    ],
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", min=1, metavar="N", help="Rows read, scored and written at a time.")
    ] = 65_536,
    proba: Annotated[bool, typer.Option("--proba", help="Add a proba_<i> column per class (classifiers).")] = False,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns", metavar="A,B", help="Input columns to copy to the output (default: all).", show_default=False
        ),
    ] = None,
    trust_unsafe: Annotated[
        bool, typer.Option("--trust-unsafe", help="Allow a pickle-based model (it runs code when loaded).")
    ] = False,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Score every row of INPUT with the model REF and write them, with a prediction column, to OUTPUT.

    Reads, checks and writes --chunk-rows rows at a time, so memory stays flat whatever the file's size.

    If a chunk does not fit the model's signature, OUTPUT is left untouched and the error names its rows.

    Example: shipyard predict churn@champion big.parquet scored.parquet --proba
    """
    from shipyard.serving.batch import predict_file

    keep = None if columns is None else [name.strip() for name in columns.split(",") if name.strip()]
    _check_writable(dest.parent)
    with open_client(ctx) as client, progress_bar(console(stderr=True), enabled=not as_json) as progress:
        result = predict_file(
            client,
            ref,
            source,
            dest,
            chunk_rows=chunk_rows,
            proba=proba,
            keep_columns=keep,
            project=project,
            progress=progress,
            trust_unsafe=trust_unsafe,
        )
    if as_json:
        print_json(result.to_dict())
    else:
        typer.echo(
            f"Scored {result.rows:,} row{'s' if result.rows != 1 else ''} with {result.model} in "
            f"{plural(result.chunks, 'chunk')} "
            f"({result.seconds:.1f}s): {result.output}"
        )


def _check_writable(folder: Path) -> None:
    """``InvalidInput`` before any scoring when no file can be created in ``folder`` (permissions, a read-only
    or virtual file system); a folder that does not exist is left to ``predict_file``, which says so."""
    if not folder.is_dir():
        return
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".shipyard-"):
            pass
    except OSError as exc:
        raise InvalidInput(
            f"Cannot write the output into the folder {str(folder)!r}: {exc.strerror or exc}. "
            "Give an OUTPUT in a folder you can write to."
        ) from None


@contextmanager
def progress_bar(out: Console, *, enabled: bool = True) -> Iterator[Callable[[int, int | None], None] | None]:
    """A ``progress(rows_done, total)`` callback drawing a rich bar on ``out``; None when hidden.

    Rows done / total when the total is known (Parquet), rows done and rows per second otherwise (CSV).
    """
    if not enabled or not out.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    started = time.perf_counter()
    bar = Progress(
        TextColumn("scoring"),
        BarColumn(),
        TextColumn("{task.fields[rows]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=out,
    )
    task = bar.add_task("scoring", total=None, rows="")

    def update(done: int, total: int | None) -> None:
        fields: dict[str, Any]
        if total is not None:
            fields = {"rows": f"{done:,} / {total:,} rows"}
        else:
            rate = done / max(time.perf_counter() - started, 1e-9)
            fields = {"rows": f"{done:,} rows, {rate:,.0f} rows/s"}
        bar.update(task, completed=done, total=total, **fields)

    with bar:
        yield update
