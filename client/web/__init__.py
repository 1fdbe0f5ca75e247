"""The review page: a local web server (Starlette on uvicorn, 127.0.0.1 only) over one
dataset, its review file and its run's rejected items. An edge like cli/: it uses
storage and pairs, and only cli imports it."""
