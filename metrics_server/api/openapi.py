"""What a route tells the OpenAPI document about itself: the decorator every documented view wears. docs.py
reads these from the app's url_map, so the document lists exactly the routes that exist."""
from collections.abc import Callable

from marshmallow import Schema


def documented(summary: str, *, body: str | None = None, query: type[Schema] | None = None, status: str = "200",
               csv: bool = False, answer: str | None = None) -> Callable:
    """Attach an operation's summary, request body component, query schema, success status, whether it can
    answer CSV (format=csv) and the component its success answers (default: Success for a 201) to the view."""

    def attach(view: Callable) -> Callable:
        view.openapi = {"summary": summary, "body": body, "query": query, "status": status, "csv": csv,
                        "answer": answer}
        return view

    return attach
