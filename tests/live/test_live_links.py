"""Which live resources link back to an IaC file, and which tag values are refused."""

from __future__ import annotations

import pytest

from scanner.model import Origin, Platform, Resource
from scanner.sources.live_links import link_sources, safe_relative_path


def k8s(annotations: dict[str, str]) -> Resource:
    body = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "erp", "annotations": annotations}}
    return Resource(Platform.KUBERNETES, "Deployment", "web", body, Origin(live_id="c/erp/Deployment/web"), "erp")


def azure(tags: dict[str, str]) -> Resource:
    body = {"type": "Microsoft.Cache/redis", "name": "cache", "tags": tags}
    return Resource(Platform.AZURE, "Microsoft.Cache/redis", "cache", body, Origin(live_id="/subscriptions/s"))


@pytest.mark.parametrize(("resource", "expected"), [
    (k8s({"tierscan.io/source": "apps/web.yaml"}), "apps/web.yaml"),
    (k8s({"config.kubernetes.io/origin": "path: overlays/prod/../base/web.yaml\n"}), None),
    (k8s({"config.kubernetes.io/origin": "path: base/web.yaml\nrepo: https://example.com/r\n"}), "base/web.yaml"),
    (k8s({}), None),
    (azure({"tierscan-source": "infra/main.bicep"}), "infra/main.bicep"),
    (azure({"iac-source": "terraform/redis.tf"}), "terraform/redis.tf"),
    (azure({"iac-source": "https://example.com/main.bicep"}), None),
    (azure({"iac-source": "/etc/passwd"}), None),
])
def test_source_links(resource: Resource, expected: str | None) -> None:
    link_sources([resource])
    assert resource.origin.file == expected


def test_unsafe_paths_are_refused() -> None:
    assert [safe_relative_path(v) for v in ("a/b.yaml", "../x", "C:/x", "", 3, "a\\b.tf")] == [
        "a/b.yaml", None, None, None, None, "a/b.tf"]
