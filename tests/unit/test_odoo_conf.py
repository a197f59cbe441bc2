"""odoo.conf read from ConfigMaps and Secrets: effective settings, Odoo's defaults, and
no secret value ever in the result."""

from __future__ import annotations

import base64
import json
from typing import Any

from scanner.engine.odoo_conf import odoo_conf_facts, parse_odoo_conf
from scanner.model import Origin, Platform, Resource

CONF = """\
[options]
addons_path = /mnt/extra-addons
db_host = odoo-db-rw
db_port = 5432
db_user = odoo
db_password = hunter2-db
admin_passwd = hunter2-master
workers = 5
max_cron_threads = 1
proxy_mode = True
list_db = False
dbfilter = ^%d$
"""


def k8s(kind: str, body: dict[str, Any]) -> Resource:
    doc = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "odoo"}, **body}
    return Resource(Platform.KUBERNETES, kind, "odoo", doc, Origin("x.yaml"))


def test_settings_are_parsed_with_types() -> None:
    assert parse_odoo_conf(CONF) == {
        "workers": 5, "proxy_mode": True, "list_db": False, "dbfilter": "^%d$",
        "explicit": ["dbfilter", "list_db", "proxy_mode", "workers"],
        "db_host": "odoo-db-rw", "db_port": "5432", "db_user": "odoo", "db_name": None, "db_sslmode": None,
        "max_cron_threads": "1", "limit_time_real": None, "http_port": None, "data_dir": None,
        "admin_passwd_set": True, "db_password_set": True,
    }


def test_odoo_defaults_apply_when_keys_are_absent() -> None:
    parsed = parse_odoo_conf("[options]\ndb_host = db\n")
    assert parsed is not None
    assert (parsed["workers"], parsed["proxy_mode"], parsed["list_db"], parsed["dbfilter"]) == (0, False, True, None)
    assert parsed["explicit"] == []
    assert (parsed["admin_passwd_set"], parsed["db_password_set"]) == (False, False)


def test_odoo_spellings_of_booleans_and_unset_passwords() -> None:
    parsed = parse_odoo_conf("[options]\nproxy_mode = true\nlist_db = false\nadmin_passwd = False\ndbfilter =\n")
    assert parsed is not None
    assert (parsed["proxy_mode"], parsed["list_db"], parsed["admin_passwd_set"], parsed["dbfilter"]) == (
        True, False, False, None)


def test_values_that_are_not_numbers_or_booleans_are_unknown() -> None:
    parsed = parse_odoo_conf("[options]\nworkers = ${WORKERS}\nproxy_mode = maybe\n")
    assert parsed is not None
    assert (parsed["workers"], parsed["proxy_mode"]) == (None, None)


def test_texts_that_are_not_odoo_conf() -> None:
    assert parse_odoo_conf("server { listen 80; }") is None
    assert parse_odoo_conf("[options]\nfoo = bar\n") is None  # no Odoo setting at all
    assert parse_odoo_conf("[database]\ndb_host = x\n") is None


def test_configmap_data() -> None:
    facts = odoo_conf_facts(k8s("ConfigMap", {"data": {"README": "hello", "odoo.conf": CONF}}))
    assert facts["odooConf"]["workers"] == 5
    assert (facts["odooConf"]["key"], facts["odooConf"]["field"]) == ("odoo.conf", "data")


def test_any_key_with_an_options_section_is_found() -> None:
    facts = odoo_conf_facts(k8s("ConfigMap", {"data": {"erp.ini": "[options]\nworkers = 2\n"}}))
    assert (facts["odooConf"]["key"], facts["odooConf"]["workers"]) == ("erp.ini", 2)


def test_secret_string_data_and_base64_data() -> None:
    encoded = base64.b64encode(CONF.encode()).decode()
    from_data = odoo_conf_facts(k8s("Secret", {"data": {"odoo.conf": encoded}}))
    from_string = odoo_conf_facts(k8s("Secret", {"stringData": {"odoo.conf": CONF}}))
    assert from_data["odooConf"]["field"] == "data"
    assert from_string["odooConf"]["field"] == "stringData"
    assert from_data["odooConf"]["workers"] == from_string["odooConf"]["workers"] == 5


def test_no_secret_value_is_exposed() -> None:
    encoded = base64.b64encode(CONF.encode()).decode()
    for resource in (k8s("ConfigMap", {"data": {"odoo.conf": CONF}}),
                     k8s("Secret", {"data": {"odoo.conf": encoded}})):
        text = json.dumps(odoo_conf_facts(resource))
        assert "hunter2" not in text


def test_nothing_when_there_is_no_odoo_conf() -> None:
    assert odoo_conf_facts(k8s("ConfigMap", {"data": {"nginx.conf": "server {}"}})) == {}
    assert odoo_conf_facts(k8s("Secret", {"data": {"odoo.conf": "not base64!"}})) == {}
    assert odoo_conf_facts(k8s("ConfigMap", {})) == {}
