"""cert_mgmt: publish the ACME certificate pair from the cert bucket to the tenant's `shared` namespace."""
