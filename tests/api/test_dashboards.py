"""Saved dashboards through the API on the real Cassandra: create, read, list/search, versioned save (a stale save
is refused with 409 and a message saying what to do), export → import (under a numbered title when the title is
taken), the history of saves and restoring one, delete, and clear 400s."""
import uuid

import pytest


def panel(pid="p1", **extra):
    return {"id": pid, "title": "CPU", "metrics": [{"name": "cpu_usage", "filters": {"host": ["$host"]}}], **extra}


@pytest.fixture
def title(client):
    """A title no other test uses; the test's dashboards (copies and renames included) are deleted after it."""
    name = f"Dash {uuid.uuid4().hex[:8]}"
    yield name
    for dashboard in client.get("/api/dashboards", {"search": name}).json:
        client.delete(f"/api/dashboards/{dashboard['id']}")


def test_create_read_and_defaults(client, title):
    made = client.post_json("/api/dashboards", {"title": title, "panels": [panel()]}, status=201).json
    assert made["version"] == 1 and len(made["id"]) == 12 and made["updated_at"].endswith("Z")
    read = client.get(f"/api/dashboards/{made['id']}").json
    assert read == made
    p = read["panels"][0]
    assert (p["agg"], p["chart"], p["w"], p["h"], p["group_by"], p["across"]) == ("auto", "line", 6, 2, [], None)
    assert p["y"] == {"log": False, "min": None, "max": None, "thresholds": []}
    assert read["time"] == {"from": "-6h", "to": "now"} and read["variables"] == [] and read["refresh"] == "off"


def test_save_bumps_the_version_and_a_stale_save_is_refused(client, title):
    made = client.post_json("/api/dashboards", {"title": title, "panels": [panel()]}, status=201).json
    url = f"/api/dashboards/{made['id']}"
    mine = {**made, "panels": [panel(), panel("p2", chart="stat", w=3)]}
    theirs = {**made, "title": title + " (theirs)"}
    saved = client.put_json(url, mine).json
    assert saved["version"] == 2 and len(saved["panels"]) == 2
    stale = client.put_json(url, theirs, status=409).json
    assert stale["error"].startswith(f"version: dashboard '{title} (theirs)' was saved by someone else")
    assert "version 2" in stale["error"] and "reload" in stale["error"] and stale["current_version"] == 2
    assert client.get(url).json["title"] == title  # the refused save changed nothing
    assert client.put_json(url, {**theirs, "version": 2}).json["version"] == 3


def test_list_searches_titles_and_counts_panels(client, title):
    made = client.post_json("/api/dashboards", {"title": title, "description": "the web fleet",
                                                "panels": [panel(), panel("p2")]}, status=201).json
    found = client.get("/api/dashboards", {"search": title.split()[1].upper()}).json
    assert [(d["id"], d["panels"], d["version"]) for d in found] == [(made["id"], 2, 1)]
    assert made["id"] in [d["id"] for d in client.get("/api/dashboards", {"search": "WEB FLEET"}).json]
    assert all(isinstance(d["panels"], int) for d in client.get("/api/dashboards").json)


def test_export_imports_as_a_new_dashboard_and_delete_removes_it(client, title):
    made = client.post_json("/api/dashboards", {"title": title, "panels": [panel()],
                                                "variables": [{"name": "host", "metric": "cpu_usage", "label": "host"}],
                                                "time": {"from": "-24h", "to": "now"}}, status=201).json
    exported = client.get(f"/api/dashboards/{made['id']}").json
    copy = client.post_json("/api/dashboards", exported, status=201).json
    assert copy["id"] != made["id"] and copy["version"] == 1 and copy["title"] == f"{title} (2)"
    assert {k: copy[k] for k in ("panels", "variables", "time")} == {k: made[k] for k in ("panels", "variables", "time")}
    client.delete(f"/api/dashboards/{copy['id']}")
    assert client.get(f"/api/dashboards/{copy['id']}", status=404).json["error"] == f"dashboard '{copy['id']}' not found"
    assert client.delete(f"/api/dashboards/{copy['id']}", status=404).json["error"].endswith("not found")
    assert client.put_json(f"/api/dashboards/{copy['id']}", {**exported, "version": 1}, status=404)


@pytest.mark.parametrize("body, message", [
    ({}, "title: Missing data for required field."),
    ({"title": "x", "panels": [{"id": "a", "metrics": []}]}, "panels.0.metrics: Length must be between 1 and 20."),
    ({"title": "x", "panels": [panel(chart="donut")]}, "panels.0.chart: Must be one of"),
    ({"title": "x", "panels": [panel(agg="median")]}, "panels.0.agg: Must be one of"),
    ({"title": "x", "panels": [panel(across="median")]}, "panels.0.across: Must be one of"),
    ({"title": "x", "panels": [panel(w=13)]}, "panels.0.w: Must be greater than or equal to 1 and less than or equal to 12."),
    ({"title": "x", "panels": [panel(y={"min": 5, "max": 1})]}, "panels.0.y.min: min must be below max"),
    ({"title": "x", "panels": [panel(), panel()]}, "panels: two panels share an id"),
    ({"title": "x", "time": {"from": "yesterday"}}, "time.from: "),
    ({"title": "x", "colour": "red"}, "colour: Unknown field."),
])
def test_bad_dashboards_are_400s_naming_the_field(client, body, message):
    error = client.post_json("/api/dashboards", body, status=400).json["error"]
    assert error.startswith(message), error


def test_save_needs_the_version_it_edited(client, title):
    made = client.post_json("/api/dashboards", {"title": title}, status=201).json
    body = {"title": title}
    assert client.put_json(f"/api/dashboards/{made['id']}", body, status=400).json["error"].startswith("version: required")


def test_a_title_in_use_gets_the_next_free_number_within_the_length_limit(client, title):
    made = [client.post_json("/api/dashboards", {"title": title}, status=201).json["title"] for _ in range(3)]
    assert made == [title, f"{title} (2)", f"{title} (3)"]
    long = title + "x" * (200 - len(title))
    again = [client.post_json("/api/dashboards", {"title": long}, status=201).json["title"] for _ in range(2)]
    assert again == [long, long[:196] + " (2)"]


def test_the_history_keeps_the_last_30_saves_and_restores_one_as_the_next_version(client, title):
    made = client.post_json("/api/dashboards", {"title": title, "panels": [panel()]}, status=201).json
    url = f"/api/dashboards/{made['id']}"
    current = made
    for n in range(2, 33):
        current = client.put_json(url, {**current, "description": f"save {n}"}).json
    history = client.get(f"{url}/versions").json
    assert [v["version"] for v in history] == list(range(32, 2, -1))
    assert history[0]["saved_by"] == made["owner"]  # who saved each: here the admin token that made it
    assert (history[-1]["title"], history[-1]["panels"]) == (title, 1) and history[-1]["saved_at"].endswith("Z")
    assert client.get(f"{url}/versions/5").json["dashboard"]["description"] == "save 5"
    assert client.get(f"{url}/versions/2", status=404).json["error"].startswith("version 2 of dashboard")
    restored = client.post_json(f"{url}/restore", {"restore": 5, "version": 32}).json
    assert (restored["version"], restored["description"]) == (33, "save 5")
    assert client.post_json(f"{url}/restore", {"restore": 5, "version": 32}, status=409).json["current_version"] == 33
    for body, message in (({"restore": 5}, "version: Missing data"), ({"restore": "5", "version": 33}, "restore: Not a"),
                          ({"restore": 0, "version": 33}, "restore: Must be greater"),
                          ({"restore": 5, "version": 33, "x": 1}, "x: Unknown field")):
        assert client.post_json(f"{url}/restore", body, status=400).json["error"].startswith(message), body
    client.delete(url)
    assert client.get(f"{url}/versions", status=404)


def test_a_multi_value_variable_is_kept(client, title):
    variables = [{"name": "host", "metric": "cpu_usage", "label": "host", "multi": True},
                 {"name": "dc", "metric": "cpu_usage", "label": "dc"}]
    made = client.post_json("/api/dashboards", {"title": title, "variables": variables}, status=201).json
    assert made["variables"] == [variables[0], {**variables[1], "multi": False}]
