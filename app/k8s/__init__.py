"""Kubernetes facts, in one place: quantities, resource names, pod templates, scheduling
rules, names. Pure functions over plain API JSON; no cluster, no CEL, no Textual.

The offline API rules, the CEL helpers, the scheduler advice, the live grader,
the providers and the terminal app all import these, so each fact has one
definition.
"""
