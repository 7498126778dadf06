"""Code shared by every worker: XC client, config, logging, AWS helpers, validation.

Nothing here builds a client or reads the environment at import time.
"""
