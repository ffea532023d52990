"""Foreign dialects: other APIs' clients served unchanged, each a translation over the services
``/v1`` uses (its auth, its shapes in and out), holding no logic of its own."""
