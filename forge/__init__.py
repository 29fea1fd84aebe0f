"""The Forge door (DESIGN §11): the Forge app's manifest and Custom UI build live beside this Python edge.

Forge Remote calls this backend with a Forge Invocation Token (`fit.py`, keys from `jwks.py`); `auth.py` turns a
verified invocation into the neutral Identity the views use, with the invocation's app system and user tokens as
the credentials for Confluence (`credentials.py`); `lifecycle.py` keeps the tenant in step with the installation's
events; `door.py` plugs all of it into the app when FORGE_APP_ID is set. Imports nothing of connect/.
"""
