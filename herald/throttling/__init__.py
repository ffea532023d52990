"""Request rate limits per key and daily message caps per account (the ``limits`` library)."""
