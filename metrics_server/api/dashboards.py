"""Saved dashboards: list (search), create or import, read (also the export), save with the version it edited
(409 when someone saved in between), delete."""
from flask import Blueprint, request

from metrics_server.api.body import json_body
from metrics_server.api.lookup import dashboards
from metrics_server.api.openapi import documented
from metrics_server.errors import ApiError
from metrics_server.jsonio import json_response
from metrics_server.schemas import DashboardSchema

blueprint = Blueprint("dashboards", __name__)
dashboard_schema = DashboardSchema()
STORED = ("title", "description", "time", "refresh", "variables", "panels")


def load_body() -> tuple[dict, int | None]:
    """The dashboard definition of the request and the version it names."""
    data = dashboard_schema.load(json_body())
    return {key: data[key] for key in STORED}, data["version"]


@blueprint.get("/dashboards")
@documented("List dashboards (optional search=substring of title or description)")
def list_dashboards():
    return json_response([d.summary() for d in dashboards().all(request.args.get("search", ""))])


@blueprint.post("/dashboards")
@documented("Create a dashboard, or import an exported one", body="Dashboard", status="201", answer="object")
def create_dashboard():
    body, _ = load_body()
    return json_response(dashboards().create(body).to_json(), 201)


@blueprint.get("/dashboards/<dashboard_id>")
@documented("Read a dashboard (the JSON export)")
def get_dashboard(dashboard_id: str):
    return json_response(dashboards().get(dashboard_id).to_json())


@blueprint.put("/dashboards/<dashboard_id>")
@documented("Save a dashboard; `version` is the one edited (409 when another save came first)", body="Dashboard")
def save_dashboard(dashboard_id: str):
    body, version = load_body()
    if version is None:
        raise ApiError("version: required when saving, the version of the dashboard you edited", 400)
    return json_response(dashboards().save(dashboard_id, body, version).to_json())


@blueprint.delete("/dashboards/<dashboard_id>")
@documented("Delete a dashboard")
def delete_dashboard(dashboard_id: str):
    dashboards().delete(dashboard_id)
    return json_response({"message": "Success"})
