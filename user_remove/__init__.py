"""user_remove: delete an XC user, or revoke only some of its roles and groups."""
