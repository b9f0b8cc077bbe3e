"""deploy/: what can be checked without a container engine. The compose file parses, names only
settings the app reads, and the app accepts their values; the proxy forwards to the app's port."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from qa.config import Settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
_DEFAULTED = re.compile(r"\$\{(\w+):-([^}]*)\}")
APP_SERVICES = ("indexer", "qa")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def _environment(service: dict) -> dict[str, str]:
    """A service's environment with ``${VAR:-default}`` replaced by its default."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: _DEFAULTED.sub(lambda m: m.group(2), str(v)) for k, v in env.items()}


def test_the_compose_file_has_milvus_replicas_and_a_proxy(compose):
    services = compose["services"]
    assert {"milvus", "etcd", "minio", "indexer", "qa", "proxy"} <= services.keys()
    assert services["qa"]["deploy"]["replicas"]
    assert services["qa"]["depends_on"]["indexer"]["condition"] == "service_completed_successfully"
    assert services["indexer"]["depends_on"]["milvus"]["condition"] == "service_healthy"
    for name in APP_SERVICES:
        mounts = [m.split(":")[1] for m in services[name]["volumes"]]
        assert _environment(services[name])["QA_INDEX_DIR"] in mounts  # the index is shared


def test_app_services_name_only_settings_the_app_reads(compose):
    fields = {f"QA_{f.name.upper()}" for f in dataclasses.fields(Settings)}
    for name in APP_SERVICES:
        env = _environment(compose["services"][name])
        named = {k for k in env if k.startswith("QA_")}
        assert named <= fields, f"{name} sets {sorted(named - fields)}, which the app does not read"
        settings = Settings.load(env)  # the values are accepted too
        assert settings.milvus and settings.vector_store == "http://milvus:19530"
        assert settings.host == "0.0.0.0" and settings.port == 7860


def test_the_proxy_has_the_trusted_address_and_forwards_to_the_app_port(compose):
    services = compose["services"]
    proxy_address = services["proxy"]["networks"]["default"]["ipv4_address"]
    env = _environment(services["qa"])
    if "QA_TRUSTED_PROXIES" in env:
        assert env["QA_TRUSTED_PROXIES"] == proxy_address
    else:  # commented out until the app reads it; the comment names the proxy's address
        assert f"QA_TRUSTED_PROXIES: {proxy_address}" in (DEPLOY / "compose.yaml").read_text()
    caddy = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    assert f"dynamic a qa {env['QA_PORT']}" in caddy and "lb_policy cookie" in caddy
    mounted = services["proxy"]["volumes"][0].split(":")[0]
    assert (DEPLOY / mounted).resolve() == (DEPLOY / "Caddyfile").resolve()


def test_the_guide_names_every_setting_the_compose_file_sets(compose):
    guide = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for key in _environment(compose["services"]["qa"]):
        if key.startswith("QA_") and key not in ("QA_ROOT", "QA_SEEDS_DIR", "QA_HOST", "QA_PORT"):
            assert key in guide or key in (Path(__file__).parents[1] / "README.md").read_text()
