"""The web workbench's server: a FastAPI JSON API, a server-side job queue and the built web UI.

    from unlearnlab.server import create_app
    app = create_app("unlearnlab_store")      # then: uvicorn, or `unlearnlab serve`
"""

from .app import create_app

__all__ = ["create_app"]
