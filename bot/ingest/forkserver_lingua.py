"""Imported only in the worker processes' fork server (`analyse._preload` names it), never by the application.

lingua's models (about 70 MB, 0.3 s of CPU to load) are needed by every worker that meets a short or ambiguous
text: in our labelled news items, one in ten with its lead and two bare headlines in three. Loaded in each worker
of each pass, every worker paid that time and memory; loaded here, once per pass, the workers share one copy
(copy-on-write, and nothing writes to the models). Measured over 20 feeds of 30 such items, with 2 workers, the
server and the workers together: CPU 1.36-1.44 -> 1.00-1.04 s, memory (PSS) 198-215 -> 121-139 MB
(benchmarks/RESULTS.md, "Ingestion, fourth round"). The workers start 0.3 s later for it; the parent does their
jobs meanwhile (analyse.ProcessAnalyser), except tagging items that need lingua, so that it never loads a copy.
"""

from bot.ingest.language import load_models

load_models()
