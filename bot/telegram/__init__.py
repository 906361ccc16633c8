"""aiogram glue: the Bot with its session, middlewares and error handling. Imported only by `run`/`--send`."""
