"""udf_dispatch: SQS heartbeats from UDF lab VMs -> the deployment state table.

The first heartbeat of a deployment inserts its state item (the INSERT that provisions the lab);
every later one only pushes its `ttl` forward. Both writes are conditional, so duplicate or
concurrent deliveries never overwrite what the worker wrote.
"""
