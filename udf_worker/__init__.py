"""udf_worker: the deployment state table's stream -> provision a UDF lab on INSERT, tear it down on
REMOVE, by invoking the tenant workers (ns_create, user_create, the lab's pre_lambda, user_remove,
ns_remove). MODIFY records (heartbeats, the worker's own state writes) are ignored.
"""
