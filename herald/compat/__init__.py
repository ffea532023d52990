"""Foreign dialects: each only translates auth and shapes, over the services ``/v1`` uses."""
