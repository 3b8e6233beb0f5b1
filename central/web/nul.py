"""No NUL character in anything central is asked: PostgreSQL's text cannot hold one.

A filter, a path or a body's text with a NUL character failed deep in a PostgreSQL read or
write (a 500), where SQLite matched nothing or stored it. No stored value holds one on either
database, so such a request is refused up front, alike on both, in FastAPI's 422 shape with the
place of the character (`loc`), and the API document says so (`text_without_nul`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from contract.text import ESCAPED_NUL, Place, nul_place

NO_NUL = "^[^\\u0000]*$"
"""The pattern of every free text central takes."""


async def refuse_nul_characters(request: Request, call_next: Callable[[Request], Awaitable[Response]]
                                ) -> Response:
    """The HTTP middleware: a query parameter, the path or a JSON body holding a NUL is a 422."""
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            return _unprocessable(request, ["query", name.replace("\x00", "")])
    if "\x00" in request.scope["path"]:
        return _unprocessable(request, ["path"])
    if _is_json(request.headers.get("content-type", "")):
        # Starlette keeps the body it read here for the route (its middleware caches it).
        place = nul_in_json_body(await request.body())
        if place is not None:
            return _unprocessable(request, ["body", *place])
    return await call_next(request)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media.endswith("/json") or media.endswith("+json") or media.endswith("ndjson")


def nul_in_json_body(body: bytes) -> Place | None:
    """Where `body` (JSON, or JSON Lines) holds a NUL character, or None.

    Only a body that spells one is parsed (a scan of its bytes first), so every other request
    costs one `in`. A body that is no JSON at all is left to the route, which says so itself."""
    if b"\x00" in body:
        return []  # no valid JSON holds a raw one: say the body
    if ESCAPED_NUL not in body:
        return None
    text = body.decode("utf-8", errors="replace")
    try:
        return nul_place(json.loads(text))
    except ValueError:
        pass
    for number, line in enumerate(text.splitlines(), start=1):  # JSON Lines: one value a line
        try:
            place = nul_place(json.loads(line))
        except ValueError:
            continue
        if place is not None:
            return [number, *place]
    return None


def _unprocessable(request: Request, where: Place) -> JSONResponse:
    """The 422 in the shape the route documents: FastAPI's validation errors, or the case
    engine's list of problems (`Problems`: one line each) on the routes that say so."""
    if _says_problems(request):
        return JSONResponse(status_code=422, content={"detail": [
            f"{'.'.join(map(str, where))}: a NUL character is not allowed"]})
    return JSONResponse(status_code=422, content={"detail": [
        {"loc": where, "msg": "a NUL character is not allowed", "type": "value_error"}]})


def _says_problems(request: Request) -> bool:
    path, method = request.scope["path"], request.method.lower()
    return any(method == documented and template.match(path)
               for template, documented in _problem_routes(request.app))


_PROBLEMS = "#/components/schemas/Problems"


def _problem_routes(app: Any) -> list[tuple[re.Pattern[str], str]]:
    """The operations whose documented 422 is `Problems`, from the API document (made once)."""
    found: list[tuple[re.Pattern[str], str]] | None = getattr(app.state, "nul_problem_routes", None)
    if found is None:
        found = []
        for path, operations in app.openapi().get("paths", {}).items():
            for method, operation in operations.items():
                answer = operation.get("responses", {}).get("422", {})
                schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
                if schema.get("$ref") == _PROBLEMS:
                    template = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path))
                    found.append((re.compile(f"^{template}$"), method))
        app.state.nul_problem_routes = found
    return found


def text_without_nul(document: dict[str, Any]) -> dict[str, Any]:
    """The document with NO_NUL on every free-text parameter and body field (those without a
    pattern, format or enum of their own): what central can store on PostgreSQL, and what
    `refuse_nul_characters` enforces."""
    def mark(schema: dict[str, Any]) -> None:
        if schema.get("type") == "string" and not {"pattern", "format", "enum", "const"} & schema.keys():
            schema["pattern"] = NO_NUL
        for choice in schema.get("anyOf", []):
            mark(choice)
        for field in schema.get("properties", {}).values():
            mark(field)
        if isinstance(schema.get("items"), dict):
            mark(schema["items"])

    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                mark(parameter.get("schema", {}))
    for schema in document.get("components", {}).get("schemas", {}).values():
        mark(schema)
    return document
