"""ns_remove: cascade-delete an XC namespace and everything in it."""
