"""udf_clean: the scheduled sweep that deletes expired deployment state items.

DynamoDB's own TTL deletion can lag by hours; each delete here streams the REMOVE record that makes
udf_worker tear the lab down.
"""
