"""ns_create: create an XC namespace and wait until it is usable."""
