"""Security headers on every answer the app gives, errors included (nginx adds the same to the pages and errors it
serves itself). The API answers JSON or CSV, never a page, so its policy allows nothing; Swagger UI's page at
/api/docs runs its own inline start-up script and styles, so it gets a policy that allows those, from 'self' only."""
from flask import Flask, Response, request

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def init_app(app: Flask) -> None:
    @app.after_request
    def secure(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = (
            DOCS_POLICY if request.path.startswith("/api/docs") else API_POLICY)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=63072000")
        if request.path.startswith("/api/auth/"):
            response.headers["Cache-Control"] = "no-store"  # tokens and CSRF tokens are never cached
        return response
