"""Local servers speaking the protocols of providers the tests cannot reach."""
