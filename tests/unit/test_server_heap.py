"""The serving worker's gc policy, checked in a child process (it changes process-wide state)."""

import subprocess
import sys

CHILD = """
import gc
from voxline.server.heap import YOUNG_THRESHOLD, settle_heap
before = gc.get_threshold()
settle_heap()
after = gc.get_threshold()
assert gc.get_freeze_count() > 1000, gc.get_freeze_count()  # the imported modules at least
assert after == (YOUNG_THRESHOLD, before[1], before[2]), (before, after)
# Young garbage still goes: a cycle made after the freeze is collected.
class Node: pass
a, b = Node(), Node(); a.other, b.other = b, a
import weakref; ref = weakref.ref(a); del a, b
gc.collect()
assert ref() is None
print("ok")
"""


def test_settle_heap_freezes_start_up_and_raises_the_young_threshold():
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"

