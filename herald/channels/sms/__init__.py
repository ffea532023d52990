"""The SMS channel: messages, delivery receipts and the providers that send them."""
