"""docker-compose.yml and the images, checked without a Docker engine, so in the unit layer
(tests/deploy/test_compose_stack.py runs them for real): Debian's `docker-compose config` validates and resolves
the file, then its services, ports, variables and start order are cross-checked against the
configuration schema and against the nginx config the image renders."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from metrics_server.config import KEYS, env_name, load_config
from tools import stack as stacks

ROOT = Path(__file__).resolve().parents[2]
CASSANDRAS = {"cassandra1", "cassandra2", "cassandra3"}
BACKENDS = {"backend1", "backend2", "backend3", "backend4"}
SETTINGS = {env_name(key) for key in KEYS}


def compose_config(tmp_path: Path, env_file: str | None = None) -> dict:
    """The file as `docker-compose config` resolves it (in a copy, with `env_file` as its .env), as a dict."""
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.skip("docker-compose is not installed (tools/install.sh test installs it)")
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    if env_file is not None:
        (tmp_path / ".env").write_text(env_file)
    result = subprocess.run([compose, "config"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    # docker-compose's own interpreter has PyYAML (python3-yaml is its dependency); the venv does not need it.
    interpreter = Path(compose).read_text().splitlines()[0].removeprefix("#!").strip()
    converted = subprocess.run([interpreter, "-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))"],
                               input=result.stdout, capture_output=True, text=True, timeout=60)
    assert converted.returncode == 0, converted.stderr
    return json.loads(converted.stdout)


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> dict:
    return compose_config(tmp_path_factory.mktemp("compose"), (ROOT / ".env.example").read_text())


def dockerfile_arg(path: str, name: str) -> str:
    match = re.search(rf"^ARG {name}=(\S+)$", (ROOT / path).read_text(), re.MULTILINE)
    assert match, f"{path} has no ARG {name}"
    return match.group(1)


def dockerfile_of(image: str) -> Path:
    """The Dockerfile that build_images.sh builds an image of ours from (metrics-server-NAME:TAG)."""
    name = image.split(":")[0].removeprefix("metrics-server-")
    assert f"docker/{name}/Dockerfile" in (ROOT / "build_images.sh").read_text(), f"{image} is not built here"
    return ROOT / "docker" / name / "Dockerfile"


def image_upstreams() -> list[tuple[str, int]]:
    """The upstream servers of the nginx image: the template rendered as its Dockerfile renders it."""
    text = stacks.nginx_conf(dockerfile_arg("docker/nginx/Dockerfile", "UPSTREAMS").split(","), "8080",
                             "/tmp/nginx", "/var/log/nginx", "/usr/share/nginx/html")
    return [(host, int(port)) for host, port in re.findall(r"^\s*server (\S+):(\d+) ", text, re.MULTILINE)]


def test_services_and_persistent_volumes(config):
    assert set(config["services"]) == CASSANDRAS | BACKENDS | {"schema", "nginx"}
    for name in CASSANDRAS:
        service = config["services"][name]
        assert service["image"].startswith("metrics-server-cassandra:")
        volume = f"{name}-data"
        assert any(isinstance(mount, str) and mount.startswith(f"{volume}:/var/lib/cassandra") or
                   isinstance(mount, dict) and mount.get("source") == volume and mount["target"] == "/var/lib/cassandra"
                   for mount in service["volumes"]), service["volumes"]
        assert "tmpfs" not in service
        assert not (config["volumes"].get(volume) or {}).get("driver_opts"), "Cassandra's data must persist"
    assert config["services"]["cassandra2"]["environment"]["CASSANDRA_SEEDS"] == "cassandra1"


def test_every_setting_is_a_config_key_and_valid(config):
    for name, service in config["services"].items():
        environment = service.get("environment") or {}
        unknown = sorted(key for key in environment if key.startswith("METRICS_SERVER_") and key not in SETTINGS)
        assert unknown == [], f"{name}: not settings of metrics_server.config: {unknown}"
        if name in BACKENDS | {"schema"}:
            settings = load_config(environ={key: value for key, value in environment.items() if key in SETTINGS})
            assert settings["cassandra"] == sorted(CASSANDRAS)
            assert settings["replication"]["class"] == "NetworkTopologyStrategy"
            assert (settings["read_consistency"], settings["write_consistency"]) == ("QUORUM", "QUORUM")
    example = [line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines()
               if line and not line.startswith("#")]
    assert sorted(key for key in example if key.startswith("METRICS_SERVER_") and key not in SETTINGS) == []


def test_nginx_image_balances_over_the_backend_services(config):
    upstreams = image_upstreams()
    assert {host for host, _ in upstreams} == BACKENDS
    for name in BACKENDS:
        backend = config["services"][name]
        assert backend["image"].startswith("metrics-server-backend:")
        port = int(backend["environment"]["METRICS_SERVER_PORT"])
        assert {upstream_port for host, upstream_port in upstreams if host == name} == {port}
        assert "ports" not in backend, "instances are reached through nginx only"
    nginx = config["services"]["nginx"]
    assert nginx["image"].startswith("metrics-server-nginx:")
    targets = {int(port["target"]) if isinstance(port, dict) else int(str(port).rsplit(":", 1)[1].split("/")[0])
               for port in nginx["ports"]}
    assert targets == {8080}
    assert "--listen 8080" in (ROOT / "docker/nginx/Dockerfile").read_text()


def test_body_and_rate_limits_are_the_instances_own(config):
    backend = config["services"]["backend1"]["environment"]
    assert dockerfile_arg("docker/nginx/Dockerfile", "MAX_BODY_BYTES") == backend["METRICS_SERVER_MAX_BODY_BYTES"] \
        == str(load_config(environ={})["max_body_bytes"])
    assert dockerfile_arg("docker/nginx/Dockerfile", "RATE_LIMIT") == backend["METRICS_SERVER_RATE_LIMIT"] == "0"
    script = (ROOT / "build_images.sh").read_text()
    assert '"MAX_BODY_BYTES=$(setting METRICS_SERVER_MAX_BODY_BYTES 33554432)"' in script
    assert '"RATE_LIMIT=$(setting METRICS_SERVER_RATE_LIMIT 0)"' in script


def test_start_order_waits_on_health_and_the_schema_job(config):
    services = config["services"]
    for name in BACKENDS:
        assert services[name]["depends_on"] == {"schema": {"condition": "service_completed_successfully"}}
    assert services["schema"]["command"] == ["python", "-m", "metrics_server.storage.cql_schema"]
    assert services["schema"]["depends_on"] == {name: {"condition": "service_healthy"} for name in CASSANDRAS}
    assert services["nginx"]["depends_on"] == {name: {"condition": "service_healthy"} for name in BACKENDS}
    assert services["cassandra3"]["depends_on"] == {"cassandra2": {"condition": "service_healthy"}}
    for name, service in services.items():
        for target, condition in (service.get("depends_on") or {}).items():
            if condition["condition"] == "service_healthy":
                assert "HEALTHCHECK" in dockerfile_of(services[target]["image"]).read_text(), \
                    f"{name} waits on {target}, whose image has no health check"
    for name in BACKENDS:
        assert services[name]["stop_grace_period"] in ("35s", 35)  # longer than the 30 s drain


def test_credentials_come_from_the_untracked_env_file(tmp_path):
    resolved = compose_config(tmp_path, "METRICS_SERVER_CASSANDRA_PASSWORD=s3cret-from-env\n")
    assert resolved["services"]["backend1"]["environment"]["METRICS_SERVER_CASSANDRA_PASSWORD"] == "s3cret-from-env"
    raw = (ROOT / "docker-compose.yml").read_text()
    assert "METRICS_SERVER_CASSANDRA_PASSWORD: ${METRICS_SERVER_CASSANDRA_PASSWORD" in raw
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT).returncode == 0
    assert ignored, ".env must be ignored by git"
    assert (ROOT / ".env.example").exists()
    assert subprocess.run(["git", "check-ignore", "-q", ".env.example"], cwd=ROOT).returncode == 1, \
        ".env.example must not be ignored: it is the committed template"


def test_every_variable_is_documented_in_env_example():
    documented = {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines()
                  if line and not line.startswith("#")}
    for path in ("docker-compose.yml", "build_images.sh"):
        code = "\n".join(line for line in (ROOT / path).read_text().splitlines() if not line.lstrip().startswith("#"))
        used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)|\$\(setting ([A-Z][A-Z0-9_]*)", code))
        used = {name for pair in used for name in pair if name}
        used -= {"ENV_FILE", "DOCKER"}  # how the script is run, not settings of the deployment
        assert sorted(used - documented) == [], f"{path} reads variables that .env.example does not list"


def test_images_are_multi_stage_on_debian_and_run_unprivileged(config):
    images = {service["image"] for service in config["services"].values()}
    for path in sorted({dockerfile_of(image).relative_to(ROOT).as_posix() for image in images}):
        text = (ROOT / path).read_text()
        stages = re.findall(r"^FROM (\S+)(?: AS (\S+))?", text, re.MULTILINE)
        assert len(stages) >= 2, f"{path}: expected a multi-stage build"
        # Every base is one that docker/base.sh can make where no registry is reachable.
        names = {name for _, name in stages if name}
        assert {base for base, _ in stages} - names == {"debian:bookworm-slim"}, path
        final = text[text.rindex("\nFROM "):]
        user = re.findall(r"^USER (\S+)$", final, re.MULTILINE)
        assert user and user[-1] not in ("root", "0"), f"{path}: the final stage must not run as root"
        assert "HEALTHCHECK" in final
    dockerignore = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".env", "frontend/node_modules"} <= set(dockerignore)
