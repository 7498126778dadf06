"""user_create: create an XC user, or add roles and groups to one that exists."""
