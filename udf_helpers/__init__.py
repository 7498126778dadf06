"""UDF lab helpers: one engine (`engine.py`) and one declarative definition per lab (`labs/<lab>.py`).

Each lab is deployed as its own `<lab>-pre` zip whose root `function.py` re-exports the module-level
`lambda_handler` of `udf_helpers.labs.<lab>`; deployables.toml holds that mapping.
"""
