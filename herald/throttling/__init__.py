"""Request rate limits per key (the ``limits`` library) and daily message caps per account."""
