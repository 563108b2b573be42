"""The step catalogue: the registry (registry.py, and its order), shared helpers, one module per
phase or big step. The phase modules are listed in catalogue.py and imported the first time the
registry is read (registry.load_catalogue), so importing one of them imports only what it needs."""
