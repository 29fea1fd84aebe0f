"""Confluence's REST API, whichever door a request came through (DESIGN §5).

Door-independent: the client with its retry policy, time and call budget, manual redirects and path checks
(`client.py`), the credentials a door supplies (`Credentials`), host allowlists and bounded fan-out. The Connect
door (connect/) and the Forge door (forge/) each supply only a base URL and an Authorization header.
"""
