"""Input recognition and parsing: Kubernetes files and lists, skips with reasons,
ARM nesting and comments, encodings."""

from __future__ import annotations

from pathlib import Path

from scanner.model import FileStatus
from scanner.sources import jsonc
from scanner.sources.files import scan_file
from scanner.sources.locate import JsonLocator


def scan(tmp_path: Path, name: str, content: str | bytes):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return scan_file(path, name, True)


def test_list_kind_and_multi_document(tmp_path: Path) -> None:
    text = ("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: a}}\n"
            "- {apiVersion: v1, kind: Service, metadata: {name: b, namespace: x}}\n---\n"
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n# only a comment\n")
    result = scan(tmp_path, "all.yaml", text)
    assert result.record.status is FileStatus.SCANNED
    assert [(r.type, r.name, r.namespace) for r in result.resources] == [
        ("Service", "a", None), ("Service", "b", "x"), ("ConfigMap", "c", None)]
    assert result.resources[1].origin.base_path == ("items", 1)


def test_non_kubernetes_files_are_skipped_with_reasons(tmp_path: Path) -> None:
    cases = {
        "kustomization.yaml": "resources: [a.yaml]\n",
        "chart/Chart.yaml": "apiVersion: v2\nname: odoo\nversion: 1.0.0\n",
        "chart/values.yaml": "image: {repository: odoo}\n",
        ".github/workflows/ci.yml": "on: push\njobs: {}\n",
        "empty.yaml": "",
        "notes.md": "# hello\n",
    }
    reasons = {name: scan(tmp_path, name, body).record for name, body in cases.items()}
    assert {n: r.status for n, r in reasons.items()} == {n: FileStatus.SKIPPED for n in cases}
    assert reasons["kustomization.yaml"].reason.startswith("Kustomize configuration")
    assert reasons["chart/Chart.yaml"].reason == "Helm chart metadata"
    assert reasons["chart/values.yaml"].reason == "Helm values file"
    assert reasons[".github/workflows/ci.yml"].reason == "CI pipeline definition"
    assert reasons["empty.yaml"].reason == "empty document (nothing to scan)"


def test_encodings_and_binary(tmp_path: Path) -> None:
    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
    assert scan(tmp_path, "bom8.yaml", b"\xef\xbb\xbf" + doc.encode()).record.status is FileStatus.SCANNED
    assert scan(tmp_path, "bom16.yaml", doc.encode("utf-16")).record.status is FileStatus.SCANNED
    binary = scan(tmp_path, "bin.yaml", b"\x00\x01\x02garbage")
    assert binary.record.status is FileStatus.ERROR and binary.errors[0].message.startswith("binary file")
    latin = scan(tmp_path, "latin.yaml", "name: caf\xe9\n".encode("latin-1"))
    assert latin.record.status is FileStatus.ERROR and "not valid UTF-8" in latin.errors[0].message


def test_unsafe_yaml_tags_are_refused(tmp_path: Path) -> None:
    result = scan(tmp_path, "evil.yaml", "!!python/object/apply:os.system ['echo pwned']\n")
    assert result.record.status is FileStatus.ERROR
    assert result.errors[0].message.startswith("refused YAML: the tag '!!python/object/apply:os.system'")


ARM = """{
  // ARM allows comments
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {"name": {"type": "string", "defaultValue": "acct"}, "noDefault": {"type": "string"}},
  "variables": {"sku": "[concat('Standard', '_', 'GRS')]"},
  "resources": [
    {
      "type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-05-01",
      "name": "[parameters('name')]", "sku": {"name": "[variables('sku')]"},
      "properties": {"minimumTlsVersion": "[parameters('noDefault')]"},
      /* nested child, flattened */
      "resources": [{"type": "blobServices", "apiVersion": "2023-05-01", "name": "default",
                     "properties": {"isVersioningEnabled": true}}]
    }
  ]
}"""


def test_arm_nested_children_params_variables_and_comments(tmp_path: Path) -> None:
    result = scan(tmp_path, "azuredeploy.json", ARM)
    assert result.record.status is FileStatus.SCANNED
    acct, blob = result.resources
    assert (acct.type, acct.name, acct.body["sku"]["name"]) == ("Microsoft.Storage/storageAccounts", "acct",
                                                               "Standard_GRS")
    assert acct.unresolved == {("properties", "minimumTlsVersion"): "[parameters('noDefault')]"}
    assert (blob.type, blob.name) == ("Microsoft.Storage/storageAccounts/blobServices", "acct/default")
    assert blob.origin.base_path == ("resources", 0, "resources", 0)
    position, found = JsonLocator(ARM).locate(0, ("resources", 0, "resources", 0, "properties",
                                                  "isVersioningEnabled"))
    assert (position.line, found[-1]) == (14, "isVersioningEnabled")


def test_jsonc_errors_carry_line_and_column() -> None:
    try:
        jsonc.loads('{\n  "a": 1,\n  "b": \n}')
    except jsonc.JsoncError as exc:
        assert (exc.line, exc.column) == (4, 1)
    else:
        raise AssertionError("expected a JsoncError")


def test_display_paths_are_relative_to_the_root_when_inside_it(tmp_path: Path) -> None:
    from scanner.sources.files import display_path

    inside = tmp_path / "k8s" / "app.yaml"
    assert display_path(inside, tmp_path) == "k8s/app.yaml"
    assert display_path(tmp_path / "k8s" / ".." / "k8s" / "app.yaml", tmp_path) == "k8s/app.yaml"
    assert display_path(tmp_path, tmp_path) == "."
    assert display_path(inside, Path("/")) == inside.as_posix()[1:]
    # A sibling whose name starts with the root's name is not inside it.
    sibling = tmp_path.parent / (tmp_path.name + "-other") / "x.yaml"
    assert display_path(sibling, tmp_path) == sibling.as_posix()


def test_a_repository_reached_through_a_symbolic_link_shows_the_same_paths(tmp_path: Path) -> None:
    # Module sources resolve the files they follow; a symlinked checkout (a symlinked home,
    # macOS's /tmp) once showed them as ../../../../work/... from the resolved target.
    from scanner.scan import ScanOptions, scan_paths
    from tests.conftest import FIXTURES

    for kind in ("bicep", "terraform"):
        direct = FIXTURES / kind
        linked = tmp_path / f"linked-{kind}"
        linked.symlink_to(direct, target_is_directory=True)
        shown = [sorted((r.origin.file or "", r.type, r.name)
                        for r in scan_paths([root], ScanOptions(root=root)).resources)
                 for root in (direct, linked)]
        assert shown[0] == shown[1]
        assert not any(file.startswith("..") for file, _type, _name in shown[0])


def test_a_module_whose_callers_are_all_excluded_is_read_on_its_own() -> None:
    # The config's `exclude` often names examples/: a module they call must then be read
    # on its own, not recorded as "scanned through" a caller that this scan never reads.
    from scanner.scan import ScanOptions, scan_paths
    from tests.conftest import FIXTURES

    cases = [(FIXTURES / "terraform" / "modules", "envs/", "modules/postgres/main.tf", "terraform"),
             (FIXTURES / "bicep", "app/", "modules/pg.bicep", "bicep")]
    for root, excluded, module_file, kind in cases:
        kinds = {}
        for exclude in (None, lambda shown, prefix=excluded: shown.startswith(prefix)):
            result = scan_paths([root], ScanOptions(root=root, exclude=exclude))
            record = next(f for f in result.files if f.path == module_file)
            kinds[exclude is None] = (record.kind, record.resources > 0)
        assert kinds == {True: (f"{kind}-module", False), False: (kind, True)}


def test_a_tfvars_file_in_a_local_module_is_said_not_to_apply(tmp_path: Path) -> None:
    from scanner.scan import ScanOptions, scan_paths

    (tmp_path / "root").mkdir()
    (tmp_path / "mod").mkdir()
    (tmp_path / "root" / "main.tf").write_text('module "m" {\n  source = "../mod"\n  x = "a"\n}\n')
    (tmp_path / "root" / "terraform.tfvars").write_text('y = "b"\n')
    (tmp_path / "mod" / "main.tf").write_text('variable "x" {}\n')
    (tmp_path / "mod" / "terraform.tfvars").write_text('x = "c"\n')
    reasons = {f.path: f.reason for f in scan_paths([tmp_path], ScanOptions(root=tmp_path)).files
               if f.path.endswith(".tfvars")}
    assert reasons == {
        "mod/terraform.tfvars": "Terraform variables file in a local module's directory: not applied (the module "
                                "gets the values its callers pass)",
        "root/terraform.tfvars": "Terraform variables file (applied with the configuration in its directory)"}


def test_a_changed_module_file_is_read_through_the_files_that_call_it() -> None:
    # pre-commit names only the changed file: its callers come along, so the module is
    # checked with the values they pass, not on its own with every input unknown.
    from scanner.scan import ScanOptions, scan_paths
    from tests.conftest import FIXTURES

    cases = [(FIXTURES / "terraform" / "modules", "modules/postgres/main.tf", "terraform-module",
              ["envs/prod-north/main.tf", "envs/prod/main.tf"], {"odoo-prod-pg", "odoo-prod-north-pg"}),
             (FIXTURES / "bicep", "modules/pg.bicep", "bicep-module", ["app/main.bicep"], {"odoo-production-pg"})]
    for root, module_file, kind, callers, servers in cases:
        result = scan_paths([root / module_file], ScanOptions(root=root))
        records = {f.path: f.kind for f in result.files}
        assert records.pop(module_file) == kind
        assert sorted(records) == callers
        assert {r.name for r in result.resources if r.type == "Microsoft.DBforPostgreSQL/flexibleServers"} == servers


def test_the_search_for_callers_stays_in_the_repository_and_is_bounded(tmp_path: Path) -> None:
    from scanner.sources import nearby

    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "mod").mkdir()
    assert nearby.search_root(repo / "mod") == repo.resolve()  # not tmp_path, above the repository
    assert nearby.search_root(tmp_path / "a" / "b") == tmp_path.resolve()  # no repository: the grandparent
    for index in range(nearby.MAX_FILES + 5):
        (repo / f"f{index:05}.tf").write_text("")
    assert len(nearby.files_under(repo, ".tf")) == nearby.MAX_FILES
