"""Config: the policy file. Its pydantic model (and the JSON schema generated from it), loading
YAML with errors that name the file, line and field, and the registry of judge kinds and target
backends a policy file may name.

May import: core.
"""
