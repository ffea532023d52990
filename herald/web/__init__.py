"""People-facing pages: the inbox widget (``web/widget``) and the offline API docs (``web/docs``).

Every asset is a file of the package, served by Herald itself: no build step, nothing from a CDN.
"""
