"""The recovery posture report: one self-contained HTML page (inline CSS and SVG, no
scripts, no external assets) built from the JSON document of `tierscan recovery`.

Sections: summary, per-tier compliance, service map, gap bars (achievable against
target RPO and RTO per failure scope, on a log scale), findings by area, and, given
earlier JSON reports, a trend across runs. It is written for the people who set the
recovery objectives, so every chart also states its numbers in text.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from scanner.recovery.assess import fmt_minutes
from scanner.recovery.estimate import SCOPE_LABEL

SCOPES = tuple(SCOPE_LABEL.items())
TIER_ORDER = ("critical", "high", "medium", "low")
SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
KIND_COLOUR = {"workload": "#2f6fb2", "ingress": "#6b5bb2", "postgresql": "#1d8a6b", "storage": "#b7791f",
               "redis": "#c0392b", "volume": "#8a6d1d", "vault": "#5d6d7e"}
# Gap bars: a log scale from 0 to 48 h; anything beyond (or unbounded) fills the bar.
_SCALE_MAX = math.log10(48 * 60 + 1)
_BAR_W = 360

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2933;background:#f5f7fa}
header{background:#1f2933;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#cbd2d9}
main{padding:12px 28px 40px;max-width:1200px}
section{background:#fff;border-radius:8px;padding:14px 20px;margin:16px 0;box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:17px;margin:0 0 10px}
h3{font-size:15px;margin:14px 0 6px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e4e7eb;vertical-align:top}
th{background:#f0f4f8;font-weight:600}
.cards{display:flex;gap:14px;flex-wrap:wrap}
.card{flex:1;min-width:150px;background:#f0f4f8;border-radius:6px;padding:10px 14px}
.card b{font-size:24px;display:block}
.ok{color:#1d8a6b}
.bad{color:#c0392b}
.sev{display:inline-block;border-radius:3px;padding:0 6px;color:#fff;font-size:12px}
.sev-critical{background:#8e1b1b}
.sev-high{background:#c0392b}
.sev-medium{background:#d68910}
.sev-low{background:#5d6d7e}
.sev-info{background:#95a5a6}
code{font-size:12px;background:#f0f4f8;padding:1px 4px;border-radius:3px;white-space:nowrap}
.muted{color:#616e7c;font-size:12px}
svg text{font-family:system-ui,sans-serif}
"""


def _minutes(value: Any) -> str:
    """A figure from the JSON assessment (minutes, or "unbounded"), as the text report shows it."""
    return fmt_minutes(math.inf if value == "unbounded" else None if value is None else float(value))


def _bar_width(value: Any) -> float:
    if value == "unbounded":
        return _BAR_W
    if value is None:
        return 0
    return min(_BAR_W, _BAR_W * math.log10(float(value) + 1) / _SCALE_MAX)


def _exceeds(value: Any, target: int) -> bool:
    return value == "unbounded" or (value is not None and float(value) > target)


def _summary(doc: dict[str, Any]) -> str:
    s = doc["summary"]
    severities = ", ".join(f"{count} {sev}" for sev, count in sorted(
        s.get("findings_by_severity", {}).items(), key=lambda kv: SEVERITY_ORDER.index(kv[0])
        if kv[0] in SEVERITY_ORDER else 9))
    return (f'<section id="summary"><h2>Summary</h2><div class="cards">'
            f'<div class="card"><b>{s["services"]}</b>services</div>'
            f'<div class="card"><b class="{"ok" if s["compliant"] == s["services"] else "bad"}">{s["compliant"]}'
            f'</b>meet their tier\'s RPO and RTO</div>'
            f'<div class="card"><b class="{"bad" if s["gaps"] else "ok"}">{s["gaps"]}</b>recovery gaps'
            f'{f" ({escape(severities)})" if severities else ""}</div></div></section>')


def _tiers(doc: dict[str, Any]) -> str:
    rows = []
    by_tier = doc["summary"].get("by_tier", {})
    for tier in TIER_ORDER:
        if tier not in by_tier:
            continue
        entry, target = by_tier[tier], doc["targets"].get(tier, {})
        total, ok = entry["services"], entry["compliant"]
        width = 200 * ok / total if total else 0
        bar = (f'<svg class="tier-bar" width="210" height="16" role="img" aria-label="{ok} of {total} compliant">'
               f'<rect x="0" y="2" width="200" height="12" fill="#f3d5d2"/>'
               f'<rect x="0" y="2" width="{width:.1f}" height="12" fill="#1d8a6b"/></svg>')
        rows.append(f'<tr><td>{escape(tier)}</td><td>≤ {_minutes(target.get("rpo_minutes"))}</td>'
                    f'<td>≤ {_minutes(target.get("rto_minutes"))}</td><td>{ok} of {total}</td><td>{bar}</td></tr>')
    body = "".join(rows) or '<tr><td colspan="5">No services found.</td></tr>'
    return ('<section id="tier-compliance"><h2>Compliance per tier</h2><table><tr><th>tier</th><th>RPO target</th>'
            f'<th>RTO target</th><th>services meeting both</th><th></th></tr>{body}</table></section>')


def _service_map(doc: dict[str, Any]) -> str:
    parts = ['<section id="service-map"><h2>Service map</h2>'
             '<p class="muted">Each service with the workloads, ingress routes and data stores it depends on; '
             'hover a box for how the link was found.</p>']
    for service in doc["services"]:
        components = service["components"]
        height = max(60, 34 * len(components) + 16)
        status = "ok" if service["compliant"] else "bad"
        svg = [f'<svg class="service-map" width="760" height="{height}" role="img" '
               f'aria-label="service {escape(service["name"])}">']
        cy = height / 2
        svg.append(f'<rect x="4" y="{cy - 22:.0f}" width="200" height="44" rx="6" fill="#1f2933"/>'
                   f'<text x="104" y="{cy - 3:.0f}" fill="#fff" text-anchor="middle" font-size="13">'
                   f'{escape(service["name"])}</text><text x="104" y="{cy + 13:.0f}" text-anchor="middle" '
                   f'font-size="11" fill="{"#7bd3b4" if status == "ok" else "#f5a89f"}">{escape(service["tier"])}'
                   f' · {"meets targets" if service["compliant"] else "gaps"}</text>')
        for i, c in enumerate(components):
            y = 10 + 34 * i
            colour = KIND_COLOUR.get(c["kind"], "#52606d")
            title = escape("; ".join(link["text"] for link in c["links"]) or "member of the service")
            svg.append(f'<line x1="204" y1="{cy:.0f}" x2="330" y2="{y + 13}" stroke="#9aa5b1"/>'
                       f'<g class="component"><title>{title}</title>'
                       f'<rect x="330" y="{y}" width="420" height="26" rx="4" fill="{colour}"/>'
                       f'<text x="340" y="{y + 17}" fill="#fff" font-size="12">{escape(c["label"])}'
                       f' ({escape(c["tier"])})</text></g>')
        svg.append("</svg>")
        hosts = f' <span class="muted">hosts: {escape(", ".join(service["hosts"]))}</span>' if service["hosts"] else ""
        parts.append(f'<h3>{escape(service["name"])}{hosts}</h3>{"".join(svg)}')
    return "".join(parts) + "</section>"


def _gap_bars(doc: dict[str, Any]) -> str:
    parts = ['<section id="gap-bars"><h2>Achievable against target, per failure scope</h2>'
             '<p class="muted">Bars show the achievable RPO and RTO on a log scale up to 48 h; the dark line is the '
             'tier\'s target. Red bars miss it; a full red bar is unbounded (no recovery possible).</p>']
    for service in doc["services"]:
        rows = []
        for scope, label in SCOPES:
            r = service["scopes"].get(scope)
            if r is None:  # a document written before the scope existed
                continue
            for metric, value, target in (("RPO", r["rpo"], r["target_rpo"]), ("RTO", r["rto"], r["target_rto"])):
                rows.append((f"{label} · {metric}", value, target))
        height = 26 * len(rows) + 8
        svg = [f'<svg class="gap-chart" width="760" height="{height}" role="img" '
               f'aria-label="recovery objectives of {escape(service["name"])}">']
        for i, (label, value, target) in enumerate(rows):
            y = 6 + 26 * i
            bad = _exceeds(value, target)
            width = _bar_width(value)
            marker = 200 + _bar_width(target)
            svg.append(f'<text x="0" y="{y + 14}" font-size="12">{escape(label)}</text>'
                       f'<rect x="200" y="{y}" width="{_BAR_W}" height="18" fill="#eef2f6"/>'
                       f'<rect class="gap-bar{" over" if bad else ""}" x="200" y="{y}" width="{max(width, 2):.1f}" '
                       f'height="18" fill="{"#c0392b" if bad else "#1d8a6b"}"><title>{escape(label)}: '
                       f'{_minutes(value)} (target {_minutes(target)})</title></rect>'
                       f'<line class="target-marker" x1="{marker:.1f}" x2="{marker:.1f}" y1="{y - 2}" y2="{y + 20}" '
                       f'stroke="#1f2933" stroke-width="2"/>'
                       f'<text x="{200 + _BAR_W + 10}" y="{y + 14}" font-size="12" '
                       f'fill="{"#c0392b" if bad else "#1f2933"}">{_minutes(value)} / {_minutes(target)}</text>')
        svg.append("</svg>")
        parts.append(f'<h3>{escape(service["name"])} <span class="muted">({escape(service["tier"])})</span></h3>'
                     + "".join(svg))
    return "".join(parts) + "</section>"


def _findings(doc: dict[str, Any]) -> str:
    areas = doc["summary"].get("scan_failures_by_area", {})
    rows = "".join(
        f'<tr><td>{escape(area)}</td><td>' + " ".join(
            f'<span class="sev sev-{escape(sev)}">{count} {escape(sev)}</span>'
            for sev, count in sorted(counts.items(), key=lambda kv: SEVERITY_ORDER.index(kv[0])
                                     if kv[0] in SEVERITY_ORDER else 9)) + "</td></tr>"
        for area, counts in areas.items())
    table = (f'<table><tr><th>policy area</th><th>failing findings</th></tr>{rows}</table>' if rows
             else '<p>No failing policy findings.</p>')
    items = []
    for f in doc["findings"]:
        loc = f["location"]
        where = f'{loc["file"]}:{loc["line"]}' if loc.get("file") and loc.get("line") else (loc.get("file") or "")
        items.append(f'<tr><td><span class="sev sev-{escape(f["severity"])}">{escape(f["severity"])}</span></td>'
                     f'<td><code>{escape(f["rule"])}</code></td><td>{escape(f["message"])}<br>'
                     f'<span class="muted">{escape(where)} <code>{escape(loc.get("property") or "")}</code></span>'
                     f'</td></tr>')
    recovery = (f'<table><tr><th>severity</th><th>rule</th><th>finding and evidence</th></tr>{"".join(items)}</table>'
                if items else '<p class="ok">No recovery gaps.</p>')
    return (f'<section id="findings"><h2>Findings by area</h2>{table}'
            f'<h3>disaster-recovery: recovery objectives</h3>{recovery}</section>')


def _trend(history: list[dict[str, Any]], doc: dict[str, Any]) -> str:
    runs = [*history, doc]
    if len(runs) < 2:
        return ""
    width, height, left, bottom = 760, 220, 50, 40
    top = max(max(int(r["summary"].get("gaps", 0)), int(r["summary"].get("services", 0))) for r in runs) or 1
    step = (width - left - 60) / (len(runs) - 1)

    def point(i: int, value: int) -> tuple[float, float]:
        return left + step * i, height - bottom - (height - bottom - 20) * value / top

    svg = [f'<svg class="trend-chart" width="{width}" height="{height}" role="img" aria-label="trend across runs">',
           f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="#9aa5b1"/>',
           f'<line x1="{left}" y1="20" x2="{left}" y2="{height - bottom}" stroke="#9aa5b1"/>',
           f'<text x="{left - 8}" y="24" font-size="11" text-anchor="end">{top}</text>',
           f'<text x="{left - 8}" y="{height - bottom}" font-size="11" text-anchor="end">0</text>']
    for key, colour, label in (("gaps", "#c0392b", "recovery gaps"), ("compliant", "#1d8a6b", "compliant services")):
        points = [point(i, int(r["summary"].get(key, 0))) for i, r in enumerate(runs)]
        svg.append(f'<polyline class="trend-{key}" fill="none" stroke="{colour}" stroke-width="2" points="'
                   + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"/>')
        svg.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points)
        legend_y = 14 if key == "gaps" else 28
        svg.append(f'<text x="{width - 160}" y="{legend_y}" font-size="11" fill="{colour}">■ {label}</text>')
    for i, r in enumerate(runs):
        x, _ = point(i, 0)
        stamp = str(r.get("generated_at", ""))[:10]
        svg.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" font-size="10" text-anchor="middle">'
                   f'{escape(stamp)}</text>')
    svg.append("</svg>")
    rows = "".join(f'<tr><td>{escape(str(r.get("generated_at", "")))}</td><td>{r["summary"].get("services", 0)}</td>'
                   f'<td>{r["summary"].get("compliant", 0)}</td><td>{r["summary"].get("gaps", 0)}</td></tr>'
                   for r in runs)
    return (f'<section id="trend"><h2>Trend across runs</h2>{"".join(svg)}<table><tr><th>run</th><th>services</th>'
            f'<th>compliant</th><th>gaps</th></tr>{rows}</table></section>')


def _figures(doc: dict[str, Any]) -> str:
    rows = []
    for key, f in doc["figures"].items():
        cite = ("configured in .tierscan.yaml" + (f": {f['note']}" if f.get("note") else "")) if f.get("overridden") \
            else (f"assumption: {f.get('note', '')}" if f.get("assumption") else "")
        source = f' <a href="{escape(f["source"])}">{escape(f["source"])}</a>' if f.get("source") else ""
        rows.append(f'<tr><td><code>{escape(key)}</code></td><td>{_minutes(f["minutes"])}</td>'
                    f'<td>{escape(f.get("description", ""))}</td><td>{escape(cite)}{source}</td></tr>')
    return ('<section id="figures"><h2>Figures of the recovery model</h2><table><tr><th>figure</th><th>value</th>'
            f'<th>what</th><th>source</th></tr>{"".join(rows)}</table></section>')


def render_html(doc: dict[str, Any], history: list[dict[str, Any]] | None = None) -> str:
    """The posture report for one `tierscan recovery` JSON document (see scanner/recovery/report.py)."""
    body = "".join((_summary(doc), _tiers(doc), _service_map(doc), _gap_bars(doc), _findings(doc),
                    _trend(history or [], doc), _figures(doc)))
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>tierscan recovery posture</title><style>{_CSS}</style></head><body>'
            f'<header><h1>Recovery posture</h1><p>Can this platform meet the recovery objectives of its tiers? '
            f'Generated {escape(str(doc.get("generated_at", "")))} by tierscan '
            f'{escape(str(doc.get("tool", {}).get("version", "")))}.</p></header>'
            f'<main>{body}</main></body></html>\n')
