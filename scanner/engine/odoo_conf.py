"""Read the settings that matter for availability and exposure from an `odoo.conf` held
in a ConfigMap (`data`) or a Secret (`stringData`, or base64 `data`).

Odoo's configuration file is INI text with an `[options]` section
(https://www.odoo.com/documentation/17.0/developer/reference/cli.html#configuration-file).
The result carries effective values, with Odoo's defaults applied where a key is
absent (`workers` 0, `proxy_mode` False, `list_db` True, no `dbfilter`), and never a
secret: for `admin_passwd` and `db_password` only whether they are set.
"""

from __future__ import annotations

import base64
import binascii
import configparser
from typing import Any

from scanner.model import Resource

# Keys that name an Odoo configuration file, most specific first. Any other key whose
# text has an [options] section with an Odoo setting is accepted too.
_FILE_KEYS = ("odoo.conf", "odoo.cfg", ".odoorc", "openerp-server.conf", "odoo-server.conf")
_ODOO_MARKERS = {"addons_path", "db_host", "db_name", "db_user", "admin_passwd", "workers", "proxy_mode",
                 "list_db", "dbfilter", "data_dir", "http_port", "xmlrpc_port", "max_cron_threads"}
_PLAIN_KEYS = ("db_host", "db_port", "db_user", "db_name", "db_sslmode", "max_cron_threads",
               "limit_time_real", "http_port", "data_dir")
_SECRET_KEYS = ("admin_passwd", "db_password")


def _bool(value: str | None, default: bool) -> bool | None:
    """Odoo reads True/true and False/false; anything else is not a boolean we trust."""
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off", ""):
        return False
    return None


def _int(value: str | None, default: int) -> int | None:
    if value is None:
        return default
    try:
        return int(value.strip())
    except ValueError:
        return None


def parse_odoo_conf(text: str) -> dict[str, Any] | None:
    """The settings of an odoo.conf text, or None when it is not one."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    if not parser.has_section("options"):
        return None
    options = dict(parser.items("options"))
    if not _ODOO_MARKERS & set(options):
        return None
    dbfilter = options.get("dbfilter")
    result: dict[str, Any] = {
        "workers": _int(options.get("workers"), 0),
        "proxy_mode": _bool(options.get("proxy_mode"), False),
        "list_db": _bool(options.get("list_db"), True),
        "dbfilter": dbfilter.strip() or None if isinstance(dbfilter, str) else None,
        "explicit": sorted(k for k in options if k in {"workers", "proxy_mode", "list_db", "dbfilter"}),
    }
    for key in _PLAIN_KEYS:
        result[key] = options.get(key)
    for key in _SECRET_KEYS:
        value = options.get(key)
        # Odoo treats "False" as "no password set".
        result[f"{key}_set"] = bool(value and value.strip() and value.strip().lower() != "false")
    return result


def _texts(resource: Resource) -> list[tuple[str, str, str]]:
    """(source field, key, text) for every string value of a ConfigMap or Secret."""
    body = resource.body
    out: list[tuple[str, str, str]] = []
    fields = ("data",) if resource.type == "ConfigMap" else ("stringData", "data")
    for field in fields:
        values = body.get(field)
        if not isinstance(values, dict):
            continue
        for key, value in values.items():
            if not isinstance(value, str):
                continue
            if resource.type == "Secret" and field == "data":
                try:
                    value = base64.b64decode(value, validate=True).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError):
                    continue
            out.append((field, str(key), value))
    return out


def odoo_conf_facts(resource: Resource) -> dict[str, Any]:
    """Deriver (see scanner/engine/derived.py) for ConfigMap and Secret: `odooConf`,
    the settings of the odoo.conf it holds, with `key` and `field` naming where."""
    candidates = _texts(resource)
    # Well-known file names first, in the order above; then any other key.
    candidates.sort(key=lambda c: _FILE_KEYS.index(c[1]) if c[1] in _FILE_KEYS else len(_FILE_KEYS))
    for field, key, text in candidates:
        if "[options]" not in text:
            continue
        parsed = parse_odoo_conf(text)
        if parsed is not None:
            return {"odooConf": {**parsed, "key": key, "field": field}}
    return {}
