"""The ``<herald-inbox>`` Web Component (``static/herald-inbox.js``) and its demo page."""
