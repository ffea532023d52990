"""``/docs`` (Swagger UI) and ``/redoc`` (Redoc) with their assets served by Herald, offline."""
