"""Who may see and send what: the access gate, host names, limits, quotas and the balance."""
