"""Letters: HTML rendered to PDF with a deny-by-default fetcher, kept in a document store."""
