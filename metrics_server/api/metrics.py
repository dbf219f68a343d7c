"""Metric definitions: list, create, read, delete (the seed dashboard's contract, under /api)."""
from flask import Blueprint, request

from metrics_server import auth
from metrics_server.api.body import json_body
from metrics_server.api.lookup import find_metric, quota, registry, rollups, server_config, store, usage
from metrics_server.api.openapi import documented
from metrics_server.errors import ApiError, Conflict
from metrics_server.jsonio import json_response
from metrics_server.model import Metric
from metrics_server.schemas import MetricSchema
from metrics_server.storage.usage import Made

blueprint = Blueprint("metrics", __name__)
metric_schema = MetricSchema()


@blueprint.get("/metrics")
@documented("List metrics (optional search=substring)")
def list_metrics():
    """Every metric the request may touch, optionally those whose name or description contains `search`."""
    return json_response([metric.to_json() for metric in registry().all(request.args.get("search", ""))
                          if auth.may_touch(metric.name)])


@blueprint.post("/metrics")
@documented("Create a metric", body="Metric", status="201")
def create_metric():
    """Define a metric; 409 when the name is taken."""
    data = metric_schema.load(json_body())
    auth.check_metrics([data["name"]])  # no squatting on names outside the token's prefixes
    config = server_config()
    most = config["max_label_names_per_series"]
    if len(data["label_keys"]) > most:
        raise ApiError(f"label_keys: {len(data['label_keys'])} label names (at most {most}, "
                       f"max_label_names_per_series)", 400, field="label_keys")
    metric = Metric(
        name=data["name"], type=data["type"], label_keys=tuple(data["label_keys"]), unit=data["unit"],
        description=data["description"],
        retention_days=config["default_retention_days"] if data["retention_days"] is None else data["retention_days"],
        partition_hours=data["partition_hours"] or config["partition_hours"],
    )
    charged_to = quota()
    if charged_to is not None:
        charged_to.check(Made(metrics=1), config)
    created, _ = registry().create(metric)
    if not created:
        raise Conflict("Metric with the same name already exists")
    if charged_to is not None:
        charged_to.usage.add(charged_to.owner, {metric.id: Made(metrics=1)})
    return json_response({"message": "Success", "id": str(metric.id)}, 201)


@blueprint.get("/metrics/<name>")
@documented("Read a metric's definition")
def get_metric(name: str):
    return json_response(find_metric(name).to_json())


@blueprint.delete("/metrics/<name>")
@documented("Delete a metric with all its points")
def delete_metric(name: str):
    """Remove a metric with all its series and points."""
    metric = find_metric(name)
    registry().record_deletion(metric)  # first: a write racing this delete then sees it (ingest/rules.py save)
    partitions = store().drop(metric, registry().metric_buckets(metric))
    series = registry().delete(metric)
    rollups().forget(metric)
    usage().forget(metric.id)
    return json_response({"message": "Success", "deleted_partitions": partitions, "deleted_series": series})
