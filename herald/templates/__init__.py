"""Templates: the catalogue, inheritance through the account tree, sandboxed rendering, segments."""
