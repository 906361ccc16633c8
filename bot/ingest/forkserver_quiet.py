"""Imported only in the worker processes' fork server (`analyse._preload` names it), never by the application.

The fork server imports the parent's main module (run with -m) so that workers fork with its imports done. Each
worker then runs that module once more, as `__mp_main__` (multiprocessing does that in every child), and runpy
warns that the module "found in sys.modules" may behave unpredictably when run again. Here it cannot: a main
module run again in a worker only defines things (its work is under `if __name__ == "__main__"`), and that is
what every worker did before it was imported in the server. The warning would reach the bot's log from every
worker of every pass, so it is silenced here, in the server, which the workers inherit it from; nowhere else.
"""

import warnings

warnings.filterwarnings(
    "ignore", message=r"'[\w.]+' found in sys\.modules after import of package", category=RuntimeWarning, module="runpy"
)
