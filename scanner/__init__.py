"""tierscan: a tier-aware policy-as-code compliance scanner for ERP platforms on Azure and Kubernetes."""

__version__ = "0.1.0"
