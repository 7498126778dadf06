"""acme_client: issues and renews the tenant wildcard certificate with ACME DNS-01 on Route53."""
