"""The policy engine: load and compile policies, resolve tiers, relate resources, evaluate."""
