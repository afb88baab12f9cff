"""The OpenAPI description of a deployment, written to say exactly what the server accepts and answers.

``POST /predict`` is answered before FastAPI sees it and ``POST /feedback`` reads its raw body, so FastAPI
cannot describe either from a signature of its own; both are written here, ``/predict``'s from the
champion's signature. A body the schema allows is one the server takes, and one it refuses is one the
server refuses (with the status listed), so a tool such as schemathesis finds no mismatch. Two rules the
server checks cannot be written in JSON Schema and are said in the descriptions instead: the columns of
``{"columns": …}`` must have equal lengths, and a body must fit ``--max-body-bytes``.
"""

from __future__ import annotations

from typing import Any

from shipyard.packaging.signature import Signature
from shipyard.serving.validation import (
    BODY_FORMS,
    INT64_MAX,
    INT64_MIN,
    LABEL_MAX_CHARS,
    REQUEST_ID_CHARS,
    REQUEST_ID_MAX,
    REQUEST_ID_PATTERN,
    label_kind,
)

JSON = "application/json"
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_VALUE_SCHEMAS: dict[str, dict[str, Any]] = {
    "integer": {"type": "integer", "format": "int64", "minimum": INT64_MIN, "maximum": INT64_MAX},
    "float": {"type": "number", "format": "double"},
    "boolean": {"type": "boolean"},
    "string": {"type": "string"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
}
_ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "a stable code, e.g. invalid_input"},
        "message": {"type": "string", "description": "what was wrong and what to do"},
        "request_id": {"type": "string"},
        "problems": {"type": "array", "items": {"type": "object"}, "description": "each problem, where it is"},
        "problem_count": {"type": "integer"},
    },
}
_REQUEST_ID_DOC = (
    f"At most {REQUEST_ID_MAX} characters: {REQUEST_ID_CHARS}. Another value is not refused but replaced by an "
    "id the server makes; the answer's X-Request-Id header and request_id field say which id was used."
)


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ERROR}}}


def _json(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema or {"type": "object"}}}}


def _exclusive(form: str, schema: dict[str, Any]) -> dict[str, Any]:
    """An object holding ``form`` and none of the other body forms (a body holding two is refused as ambiguous)."""
    others = [{"required": [other]} for other in BODY_FORMS if other != form]
    return {"type": "object", "required": [form], "properties": {form: schema}, "not": {"anyOf": others}}


def predict_operation(signature: Signature, *, max_rows: int, max_body_bytes: int) -> dict[str, Any]:
    """``POST /predict``, with its JSON body written from ``signature``."""
    values = {}
    for spec in signature.inputs:
        schema = dict(_VALUE_SCHEMAS[spec.type])
        values[spec.name] = {"anyOf": [schema, {"type": "null"}]} if spec.nullable else schema
    names = list(values)
    row = {"type": "object", "properties": values, "required": names, "additionalProperties": False}
    rows = {"type": "array", "items": row, "minItems": 1, "maxItems": max_rows}
    column = {
        name: {"type": "array", "items": schema, "minItems": 1, "maxItems": max_rows} for name, schema in values.items()
    }
    columns = {
        "type": "object",
        "properties": column,
        "required": names,
        "additionalProperties": False,
        "description": "One list of values per input, all of the same length.",
    }
    body = {
        "oneOf": [
            _exclusive("rows", rows),
            _exclusive("columns", columns),
            _exclusive("dataframe_records", {**rows, "description": "MLflow's scoring format"}),
        ]
    }
    answer = {
        "type": "object",
        "required": ["predictions", "model", "version", "request_id"],
        "properties": {
            "predictions": {"type": "array", "description": "one per row (a list of probabilities with ?proba)"},
            "model": {"type": "string"},
            "version": {"type": "integer"},
            "request_id": {"type": "string"},
        },
    }
    return {
        "summary": "Predict on rows",
        "operationId": "predict",
        "description": (
            f"Rows as {{'rows': [...]}}, {{'columns': {{...}}}} or MLflow's {{'dataframe_records': [...]}} (exactly "
            f"one of them), or an Arrow IPC stream or Parquet table; 1 to {max_rows:,} rows and at most "
            f"{max_body_bytes:,} bytes. Every row is checked against the signature before the model sees any."
        ),
        "parameters": [
            {
                "name": "proba",
                "in": "query",
                "required": False,
                "schema": {"type": "boolean"},
                "description": "class probabilities instead of predictions (true/false; 1/0, yes/no, on/off too)",
            },
            {
                "name": "X-Request-Id",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": _REQUEST_ID_DOC,
            },
            {
                "name": "X-Entity-Id",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "keeps an entity on one side of a canary",
            },
        ],
        "requestBody": {
            "required": True,
            "content": {
                JSON: {"schema": body},
                "application/vnd.apache.arrow.stream": _BINARY,
                "application/vnd.apache.parquet": _BINARY,
            },
        },
        "responses": {
            "200": {
                **_json("One prediction per row, with the model, the version that answered and the request id", answer),
                "headers": {
                    "X-Request-Id": {"schema": {"type": "string"}},
                    "X-Model-Version": {"schema": {"type": "string"}},
                },
            },
            "400": _error(
                "The body is not JSON, in none of the forms or in two, or not a readable table; or ?proba is not a flag"
            ),
            "413": _error("The body is over the size limit"),
            "415": _error("The content type is not JSON, Arrow or Parquet"),
            "422": _error("Rows that do not fit the signature: every problem, with its row and field"),
            "500": _error("The model failed on this request, or the server did (carries the request id)"),
        },
    }


def feedback_operation(signature: Signature, *, max_items: int) -> dict[str, Any]:
    """``POST /feedback``: one item or ``{"items": [...]}``, labels of the kind the champion predicts."""
    kind = label_kind(signature.output)
    number: list[dict[str, Any]] = [{"type": "number"}, {"type": "boolean"}]
    text: dict[str, Any] = {"type": "string", "maxLength": LABEL_MAX_CHARS}
    label = {"anyOf": number} if kind == "number" else text if kind == "string" else {"anyOf": [*number, text]}
    item = {
        "type": "object",
        "required": ["request_id", "label"],
        "additionalProperties": False,
        "properties": {
            "request_id": {
                "type": "string",
                "pattern": f"^{REQUEST_ID_PATTERN}$",
                "maxLength": REQUEST_ID_MAX,
                "description": "the request id /predict answered with",
            },
            "label": {**label, "description": "the ground truth (not null)"},
            "row": {
                "type": "integer",
                "minimum": 0,
                "maximum": INT64_MAX,
                "description": "the row of the request it is for; absent for the whole request",
            },
        },
    }
    many = {
        "type": "object",
        "required": ["items"],
        "additionalProperties": False,
        "properties": {"items": {"type": "array", "items": item, "minItems": 1, "maxItems": max_items}},
    }
    accepted = {
        "type": "object",
        "properties": {"accepted": {"type": "integer"}, "received": {"type": "integer"}},
    }
    return {
        "summary": "Ground truth for a request id",
        "operationId": "feedback",
        "requestBody": {"required": True, "content": {JSON: {"schema": {"oneOf": [item, many]}}}},
        "responses": {
            "202": _json("Queued for the feedback log (accepted is 0 when the server logs nothing)", accepted),
            "400": _error("The body is not JSON, or not an item or {items: [...]}"),
            "413": _error("The body is over the size limit"),
            "415": _error("The content type is not JSON"),
            "422": _error("Items that are not valid feedback: every problem, with its item and field"),
            "503": _error("The feedback queue is full: nothing was taken; retry after the Retry-After seconds"),
        },
    }


def complete(schema: dict[str, Any], predict: dict[str, Any], feedback: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's schema of the app, with the hand-written routes and every route's answers."""
    paths = schema["paths"]
    paths["/predict"] = {"post": predict}
    paths["/feedback"] = {"post": feedback}
    status = {"type": "object", "properties": {"status": {"type": "string"}}}
    paths["/health"]["get"]["responses"] = {"200": _json("The process is up", status)}
    paths["/ready"]["get"]["responses"] = {
        "200": _json("The versions are loaded and warmed; the version served in each role", status),
        "503": _json("Still starting", status),
    }
    paths["/schema"]["get"]["responses"] = {
        "200": _json("The champion's signature, flavor and version, and every role's")
    }
    paths["/metrics"]["get"]["responses"] = {
        "200": {
            "description": "Prometheus text format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    }
    return schema
