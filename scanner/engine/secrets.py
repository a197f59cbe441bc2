"""Recognize credentials written in plain text: secret-looking names with literal values.

Two policies rely on this module:

- SEC-K8S-007 (container env vars) matches env var names with `CREDENTIAL_NAME_PATTERN`
  inside its JSON Schema condition, so the finding points at the offending `value`
  line; a unit test keeps the policy's copy of the pattern equal to this one.
- SEC-K8S-008 (ConfigMap data) reads `context.derived.credentials`, computed here by
  `configmap_credentials`: data keys with secret-looking names, `key = value` /
  `key: value` lines inside embedded files (Odoo's `odoo.conf` with `admin_passwd` and
  `db_password`, `.env` files), and connection strings that carry a password
  (`postgresql://user:pass@host`, `Password=...;`).

Only names are ever returned, never values: the results end up in messages and reports.
"""

from __future__ import annotations

import re
from typing import Any

from scanner.model import Resource

# Names that hold a credential. Matched case-insensitively anywhere in the name, except
# `_KEY`/`_PASS`, which must end it (MONKEY_PATCH, PASSTHROUGH are not secrets).
# Names ending in a suffix that says "this is about the secret, not the secret" (where
# it lives, what it is called, how long it lasts) are excluded, with or without a
# separator so camelCase keys of embedded YAML count too: PASSWORD_FILE, SECRET_NAME,
# secretName, TOKEN_URL, TOKEN_TTL.
CREDENTIAL_NAME_PATTERN = (
    r"(?i)^(?!.+(?:FILE|PATH|DIR|NAME|REF|URL|URI|ENDPOINT|HOST|PORT|USER|USERNAME|TTL|EXPIRY|TIMEOUT"
    r"|ENABLED|LENGTH|POLICY|TYPE|ID|VERSION)$)"
    r"(?:.*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|CONNECTION_?STRING|CONN_?STR|CREDENTIALS?).*|.*_KEY|.*_PASS)$"
)
CREDENTIAL_NAME = re.compile(CREDENTIAL_NAME_PATTERN)

# A value that only refers to a secret kept elsewhere, or says "none": not a credential.
# `$(VAR)` is Kubernetes env expansion, `${VAR}` shell/envsubst, `{{ }}` a template,
# `%(name)s` Python config interpolation, `<...>` a documentation placeholder, and
# `False`/`None` is how odoo.conf writes "not set".
_NOT_A_CREDENTIAL = re.compile(
    r"""^\s*(?:|["']{2}|false|none|null|~|\*+|x+|<[^>]*>|\$\([^)]*\)|\$\{[^}]*\}|\{\{.*\}\}|%\([^)]*\)s)\s*$""",
    re.IGNORECASE,
)
# A Kubernetes `$(VAR)` reference anywhere in an env value: the secret comes from the
# referenced variable (set from a secretKeyRef), not from the manifest.
_ENV_REFERENCE = re.compile(r"\$\([A-Za-z_][A-Za-z0-9_]*\)")
# `name = value` (INI, odoo.conf, .env), `name: value` (YAML) or `"name": "value",` (JSON)
# on one line.
_ASSIGNMENT = re.compile(r"""^\s*(?:export\s+)?["']?([A-Za-z_][A-Za-z0-9_.-]*)["']?\s*[=:]\s*(.*?)\s*,?\s*$""")
# A URL whose user-info carries a password: scheme://user:password@host.
_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*:([^\s/@]+)@")
# ADO.NET / libpq keyword connection strings: Password=...; Pwd=...; password=...
_KEYWORD_PASSWORD = re.compile(r"(?i)(?:^|[;\s])(?:password|pwd)\s*=\s*([^;\s'\"]+)")


def is_secret_name(name: str) -> bool:
    """Does this env var / config key name hold a credential?"""
    return CREDENTIAL_NAME.search(name) is not None


def is_literal_secret(value: Any) -> bool:
    """A value written in plain text (not empty, not a placeholder, not a reference)."""
    if not isinstance(value, str):
        return value is not None and not isinstance(value, bool)
    text = value.strip().strip("\"'")
    return not _NOT_A_CREDENTIAL.match(text)


def is_literal_env_value(value: Any) -> bool:
    """An env var `value` that is a literal: SEC-K8S-007's notion, for tests and tools."""
    if not isinstance(value, str):
        return value is not None
    return bool(value.strip()) and _ENV_REFERENCE.search(value) is None


def connection_string_has_password(text: str) -> bool:
    """Does the text hold a connection string with a literal password?"""
    for pattern in (_URL_PASSWORD, _KEYWORD_PASSWORD):
        for match in pattern.finditer(text):
            if is_literal_secret(match.group(1)):
                return True
    return False


def credentials_in_text(text: str) -> list[str]:
    """Names of the credentials written in a (possibly multi-line) configuration value:
    secret-looking `name = value` lines, and `connection string` for a URL or keyword
    connection string with a password."""
    found: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";", "//")):
            continue  # a commented-out line (`; admin_passwd = admin`) configures nothing
        match = _ASSIGNMENT.match(line)
        if match and is_secret_name(match.group(1)) and is_literal_secret(_strip_comment(match.group(2))):
            if match.group(1) not in found:
                found.append(match.group(1))
            continue
        if connection_string_has_password(line) and "connection string" not in found:
            found.append("connection string")
    return found


def configmap_credentials(resource: Resource) -> dict[str, Any]:
    """Deriver for ConfigMaps: `credentials` lists where plain-text credentials sit, as
    `<data key>` or `<data key>: <option>` (for example `odoo.conf: admin_passwd`)."""
    data = resource.body.get("data")
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            name = str(key)
            if is_secret_name(name) and is_literal_secret(value):
                found.append(name)
                continue
            if isinstance(value, str):
                found.extend(f"{name}: {inner}" for inner in credentials_in_text(value))
    return {"credentials": found}


def _strip_comment(value: str) -> str:
    """odoo.conf and .env allow a trailing ` ; comment` / ` # comment` after a value."""
    return re.split(r"\s+[;#]", value, maxsplit=1)[0]
