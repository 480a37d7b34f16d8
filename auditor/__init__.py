"""auditor: audit an LLM against an organisation's safety policies using the ALERT benchmark."""

__version__ = "0.4.0"
