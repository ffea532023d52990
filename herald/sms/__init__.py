"""The SMS gateway (seed 004): direct messages, sender names, the monthly allowance, receipts."""
