"""Credential detection (scanner/engine/secrets.py) and image registries
(scanner/engine/images.py): the code behind SEC-K8S-007/008 and GOV-K8S-004."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from scanner.engine.images import registry_forms, registry_of, repository_of, workload_images
from scanner.engine.secrets import (
    CREDENTIAL_NAME_PATTERN,
    configmap_credentials,
    connection_string_has_password,
    credentials_in_text,
    is_literal_env_value,
    is_literal_secret,
    is_secret_name,
)
from scanner.model import Origin, Platform, Resource
from tests.conftest import POLICIES


def k8s(kind: str, body: dict[str, Any]) -> Resource:
    return Resource(Platform.KUBERNETES, kind, "x", {"kind": kind, **body}, Origin())


@pytest.mark.parametrize("name", [
    "PASSWORD", "PGPASSWORD", "DB_PASS", "REDIS_PASS", "ODOO_ADMIN_PASSWD", "admin_passwd", "db_password",
    "API_KEY", "STRIPE_APIKEY", "SUPPLIER_API_KEY", "SECRET_KEY_BASE", "ENCRYPTION_KEY", "GITHUB_TOKEN",
    "AZURE_STORAGE_CONNECTION_STRING", "ConnectionString", "AWS_CREDENTIALS", "client_secret",
])
def test_secret_looking_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", [
    "HOST", "USER", "PORT", "PASSWORD_FILE", "SECRET_NAME", "TOKEN_URL", "TOKEN_TTL", "DB_PASSWORD_PATH",
    "AWS_ACCESS_KEY_ID", "MONKEY", "KEYCLOAK_REALM", "PASSTHROUGH", "ODOO_RC", "workers", "secretName",
    "tokenUrl", "passwordFile",
])
def test_names_that_are_not_secrets(name: str) -> None:
    assert not is_secret_name(name)


def test_the_env_policy_uses_the_same_name_pattern() -> None:
    doc = yaml.safe_load((POLICIES / "kubernetes/security/no-secret-env-literals.yaml").read_text(encoding="utf-8"))
    pattern = doc["assert"]["properties"]["env"]["items"]["if"]["properties"]["name"]["pattern"]
    assert pattern == CREDENTIAL_NAME_PATTERN


@pytest.mark.parametrize("value", ["", "  ", "False", "false", "None", "null", '""', "${DB_PASSWORD}",
                                   "$(DB_PASSWORD)", "{{ .Values.db.password }}", "%(db_password)s", "<password>",
                                   "********", None, True])
def test_placeholders_are_not_credentials(value: Any) -> None:
    assert not is_literal_secret(value)


@pytest.mark.parametrize("value", ["hunter2", "admin", "$pbkdf2-sha512$25000$abc$def", "'quoted-secret'", 12345])
def test_literal_values_are_credentials(value: Any) -> None:
    assert is_literal_secret(value)


def test_env_values_built_from_references_are_not_literals() -> None:
    assert is_literal_env_value("s3cr3t")
    assert not is_literal_env_value("postgresql://odoo:$(PASSWORD)@db:5432/erp")
    assert not is_literal_env_value("")


@pytest.mark.parametrize(("text", "expected"), [
    ("postgresql://odoo:s3cr3t@pg:5432/erp", True),
    ("postgres://odoo@pg:5432/erp", False),
    ("redis://:s3cr3t@redis:6379/0", True),
    ("postgresql://odoo:$(PGPASSWORD)@pg/erp", False),
    ("postgresql://odoo:${PGPASSWORD}@pg/erp", False),
    ("Server=pg;Database=erp;User Id=odoo;Password=s3cr3t;", True),
    ("Host=pg;Username=odoo;Pwd=s3cr3t", True),
    ("Server=pg;Password=;", False),
    ("https://erp.contoso.com/web/login", False),
])
def test_connection_strings(text: str, expected: bool) -> None:
    assert connection_string_has_password(text) is expected


def test_odoo_conf_credentials_are_named_not_shown() -> None:
    text = ("[options]\n"
            "db_host = pg\n"
            "db_password = s3cr3t-db ; set by ops\n"
            "; admin_passwd = admin\n"
            "# admin_passwd = admin\n"
            "admin_passwd = s3cr3t-master\n"
            "list_db = False\n")
    assert credentials_in_text(text) == ["db_password", "admin_passwd"]
    assert credentials_in_text("[options]\ndb_password = False\nadmin_passwd =\n") == []


def test_embedded_yaml_and_json_files() -> None:
    yaml_text = "tls:\n  secretName: erp-tls\ndatabase:\n  password: s3cr3t-yaml\n"
    assert credentials_in_text(yaml_text) == ["password"]
    json_text = '{\n  "apiToken": "s3cr3t-json",\n  "dsn": "postgresql://u:s3cr3t@pg/erp",\n  "passwordFile": "/x"\n}'
    assert credentials_in_text(json_text) == ["apiToken", "connection string"]


def test_configmap_credentials_lists_keys_and_options_only() -> None:
    resource = k8s("ConfigMap", {"data": {
        "odoo.conf": "[options]\nadmin_passwd = s3cr3t-master\ndb_password = False\n",
        "DATABASE_URL": "postgresql://edi:s3cr3t-url@pg:5432/edi",
        "DB_PASSWORD": "s3cr3t-key",
        "REDIS_URL": "redis://redis:6379/0",
        "SECRET_NAME": "odoo-db",
        "app.env": "export API_TOKEN=s3cr3t-env\nLOG_LEVEL=info\n",
    }})
    found = configmap_credentials(resource)
    assert found == {"credentials": ["odoo.conf: admin_passwd", "DATABASE_URL: connection string", "DB_PASSWORD",
                                     "app.env: API_TOKEN"]}
    assert "s3cr3t" not in repr(found)


def test_configmap_without_data_has_no_credentials() -> None:
    assert configmap_credentials(k8s("ConfigMap", {})) == {"credentials": []}


@pytest.mark.parametrize(("image", "registry", "repository"), [
    ("odoo:17", "docker.io", "docker.io/library/odoo"),
    ("bitnami/redis:7.2", "docker.io", "docker.io/bitnami/redis"),
    ("docker.io/library/redis:7.2", "docker.io", "docker.io/library/redis"),
    ("contoso.azurecr.io/erp/odoo:17.0@sha256:abc", "contoso.azurecr.io", "contoso.azurecr.io/erp/odoo"),
    ("localhost:5000/odoo", "localhost:5000", "localhost:5000/odoo"),
    ("registry.contoso.local:5000/odoo:2.1", "registry.contoso.local:5000", "registry.contoso.local:5000/odoo"),
])
def test_registry_and_repository(image: str, registry: str, repository: str) -> None:
    assert registry_of(image) == registry
    assert repository_of(image) == repository


def test_registry_forms_cover_hosts_globs_and_prefixes() -> None:
    assert registry_forms("contoso.azurecr.io/erp/odoo:17.0") == [
        "contoso.azurecr.io", "*.azurecr.io", "*.io", "contoso.azurecr.io/erp", "contoso.azurecr.io/erp/odoo"]
    assert registry_forms("redis:7.2") == ["docker.io", "*.io", "docker.io/library", "docker.io/library/redis"]


def test_workload_images_for_every_container_list() -> None:
    cronjob = k8s("CronJob", {"spec": {"jobTemplate": {"spec": {"template": {"spec": {
        "initContainers": [{"name": "wait", "image": "busybox:1.36"}],
        "containers": [{"name": "dump", "image": "contoso.azurecr.io/pg-dump:16"}, {"name": "no-image"}],
    }}}}}})
    images = workload_images(cronjob)["images"]
    assert [(i["container"], i["image"], i["registryForms"][0]) for i in images] == [
        ("wait", "busybox:1.36", "docker.io"), ("dump", "contoso.azurecr.io/pg-dump:16", "contoso.azurecr.io")]
    pod = k8s("Pod", {"spec": {"containers": [{"name": "odoo", "image": "odoo:17"}]}})
    assert [i["image"] for i in workload_images(pod)["images"]] == ["odoo:17"]
