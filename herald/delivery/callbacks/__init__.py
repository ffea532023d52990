"""Status callbacks: the account's callback endpoint, the jobs queued for it, and the runner
that POSTs them (signed, or in GOV.UK Notify's format with its bearer token)."""
