"""Saved dashboards: list (search), create or import, read (also the export), save with the version it edited
(409 when someone saved in between), delete; the history of its last saves, and restoring one of them (a new
save). Each records its creator and their metric prefixes: only requests covering those prefixes see it, and any
writer covering them changes it (its history too)."""
from flask import Blueprint, request

from metrics_server import auth
from metrics_server.api.body import json_body
from metrics_server.api.lookup import dashboards
from metrics_server.api.openapi import documented
from metrics_server.errors import ApiError, NotFound
from metrics_server.jsonio import json_response
from metrics_server.schemas import DASHBOARD_TITLE_MAX, DashboardSchema, RestoreSchema
from metrics_server.storage.dashboards import Dashboard

blueprint = Blueprint("dashboards", __name__)
dashboard_schema = DashboardSchema()
restore_schema = RestoreSchema()
STORED = ("title", "description", "time", "refresh", "variables", "panels")


def load_body() -> tuple[dict, int | None, tuple[str, ...]]:
    """The dashboard definition of the request, the version it names, the metric prefixes it asks."""
    data = dashboard_schema.load(json_body())
    return {key: data[key] for key in STORED}, data["version"], tuple(data["metric_prefixes"])


def visible(dashboard_id: str) -> Dashboard:
    """The dashboard, or a 404 as for one that does not exist when it is outside the request's prefixes."""
    dashboard = dashboards().get(dashboard_id)
    if not auth.may_see(dashboard.metric_prefixes):
        raise NotFound(f"dashboard '{dashboard_id}' not found")
    return dashboard


def free_title(title: str, taken: set[str]) -> str:
    """`title`, or the first of "title (2)", "title (3)"... that no dashboard has: an import of a dashboard whose
    title exists is kept apart from the one it would silently duplicate (issue 26), and the answer says so."""
    number = 1
    candidate = title
    while candidate in taken:
        number += 1
        suffix = f" ({number})"
        candidate = title[:DASHBOARD_TITLE_MAX - len(suffix)] + suffix
    return candidate


def changeable(dashboard_id: str) -> Dashboard:
    """The dashboard, when the request may change it: whoever may write and covers its metric prefixes, as a team
    edits its dashboards together (a token limited to `app_` never sees, so never changes, an unlimited one)."""
    return visible(dashboard_id)


@blueprint.get("/dashboards")
@documented("List dashboards (optional search=substring of title or description)")
def list_dashboards():
    return json_response([d.summary() for d in dashboards().all(request.args.get("search", ""))
                          if auth.may_see(d.metric_prefixes)])


@blueprint.post("/dashboards")
@documented("Create a dashboard, or import an exported one; a title another dashboard has gets a number, "
            "\"title (2)\"", body="Dashboard", status="201", answer="object")
def create_dashboard():
    body, _, prefixes = load_body()
    body["title"] = free_title(body["title"], {d.body["title"] for d in dashboards().all()
                                                if auth.may_see(d.metric_prefixes)})
    made = dashboards().create(body, owner=auth.principal().ident, metric_prefixes=auth.granted(prefixes,
                                                                                               "a dashboard"))
    return json_response(made.to_json(), 201)


@blueprint.get("/dashboards/<dashboard_id>")
@documented("Read a dashboard (the JSON export)")
def get_dashboard(dashboard_id: str):
    return json_response(visible(dashboard_id).to_json())


@blueprint.put("/dashboards/<dashboard_id>")
@documented("Save a dashboard; `version` is the one edited (409 when another save came first)", body="Dashboard")
def save_dashboard(dashboard_id: str):
    body, version, _ = load_body()
    if version is None:
        raise ApiError("version: required when saving, the version of the dashboard you edited", 400)
    return json_response(dashboards().save(changeable(dashboard_id), body, version,
                                           saved_by=auth.principal().ident).to_json())


@blueprint.delete("/dashboards/<dashboard_id>")
@documented("Delete a dashboard")
def delete_dashboard(dashboard_id: str):
    dashboards().delete(changeable(dashboard_id).id)
    return json_response({"message": "Success"})


@blueprint.get("/dashboards/<dashboard_id>/versions")
@documented("A dashboard's history: its last saves, newest first (who, when, title, how many panels)")
def list_versions(dashboard_id: str):
    return json_response([v.summary() for v in dashboards().versions(visible(dashboard_id).id)])


@blueprint.get("/dashboards/<dashboard_id>/versions/<int:version>")
@documented("One saved version of a dashboard, its definition under `dashboard`")
def get_version(dashboard_id: str, version: int):
    return json_response(dashboards().version(visible(dashboard_id).id, version).to_json())


@blueprint.post("/dashboards/<dashboard_id>/restore")
@documented("Restore a version of the history: saved as the next version over `version` (409 when another save "
            "came first)", body="Restore")
def restore_version(dashboard_id: str):
    args = restore_schema.load(json_body())
    current = changeable(dashboard_id)
    old = dashboards().version(current.id, args["restore"])
    return json_response(dashboards().save(current, old.body, args["version"],
                                           saved_by=auth.principal().ident).to_json())
