"""Atlassian Connect, and nothing else: JWT and qsh, lifecycle, request authentication, the REST client."""
