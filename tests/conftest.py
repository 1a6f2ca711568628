import os

from hypothesis import settings

os.environ.setdefault("TAOTP_QUIET", "1")  # no progress bars in test output

settings.register_profile("default", deadline=None, max_examples=50)
settings.register_profile("ci", deadline=None, max_examples=50, derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")
