import os

# every op's outputs are checked against what its infer() promised
os.environ.setdefault("ONNUMBA_CHECK_OUTPUTS", "1")

from hypothesis import settings  # noqa: E402

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True)
settings.register_profile("slow", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
