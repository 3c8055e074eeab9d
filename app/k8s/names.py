"""Kubernetes' name rules (k8s.io/apimachinery/pkg/util/validation), with its messages.

Object names are RFC 1123 subdomains; label and annotation keys are qualified
names (an optional DNS-subdomain prefix, then a name part); label values are
short and alphanumeric at both ends. Each check returns None when the value is
valid, else the API server's complaint.
"""

from __future__ import annotations

import re

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
QUALIFIED_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
NAME_PART_MESSAGE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and "
    "must start and end with an alphanumeric character"
)
SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'"
)
LABEL_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character"
)


def is_dns_subdomain(value: str) -> bool:
    return len(value) <= 253 and bool(DNS_SUBDOMAIN.match(value))


def is_dns_label(value: str) -> bool:
    return len(value) <= 63 and bool(DNS_LABEL.match(value))


def subdomain_problem(value: str) -> str | None:
    """An object name (most kinds): an RFC 1123 subdomain."""
    return None if is_dns_subdomain(value) else SUBDOMAIN_MESSAGE


def qualified_name_problem(key: str) -> str | None:
    """A label or annotation key: `[prefix/]name`."""
    prefix, _, name = key.rpartition("/")
    if prefix and not is_dns_subdomain(prefix):
        return "prefix part must be a lowercase RFC 1123 subdomain"
    if not name:
        return "name part must be non-empty"
    if len(name) > 63 or not QUALIFIED_NAME_PART.match(name):
        return NAME_PART_MESSAGE
    return None


def label_value_problem(value: str) -> str | None:
    return None if len(value) <= 63 and LABEL_VALUE.match(value) else LABEL_VALUE_MESSAGE
