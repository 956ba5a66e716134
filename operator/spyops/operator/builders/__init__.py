"""Pure functions: a custom resource's spec -> the manifests (dicts) of the children the operator owns."""
