"""Recovery-objective assessment: can this platform meet the RPO and RTO of its tiers,
and where not, why not?

- `platform`: group resources into services (workloads plus the stores they use);
- `figures`: the cited figures of `policies/recovery-model.yaml`, with config overrides;
- `estimate`: achievable RPO/RTO per component for pod/node, zone and region loss and
  data corruption or deletion;
- `assess`: compare with the tier targets and emit DR-SVC-* findings;
- `report`: text and JSON renderings (HTML lives in scanner/report/html.py).
"""
