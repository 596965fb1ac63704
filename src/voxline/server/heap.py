"""The garbage collector's policy for a serving worker.

Almost everything a call allocates (messages, frames, events) dies by reference counting; the
cyclic collector only has cycles to find. Left at CPython's defaults it still runs a young pass
every 700 net container allocations and, every hundredth of those, a full pass over every object
alive, models and modules included: at 50 concurrent calls py-spy found ~8% of the worker's
time in the collector. So, once the models are loaded:

* `gc.freeze()` moves everything alive then (modules, models, settings, caches) into a
  permanent generation that no pass walks again;
* the young threshold goes to YOUNG_THRESHOLD: a pass per 20,000 net allocations, which bounds
  what uncollected cycles can hold at a few MB while cutting the passes ~30-fold.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

YOUNG_THRESHOLD = 20_000


def settle_heap() -> None:
    """Call once, after start-up has loaded what lives as long as the process."""
    gc.collect()  # start-up's own garbage is not worth freezing
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    log.info("gc: %d start-up objects frozen, young threshold %d", gc.get_freeze_count(),
             YOUNG_THRESHOLD)
