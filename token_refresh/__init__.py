"""token_refresh: keep the tenant's own XC API or service credential from expiring."""
