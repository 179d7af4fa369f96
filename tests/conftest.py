"""Settings every test module shares."""

from hypothesis import settings

# Property tests judge what they compute, never how long an example takes: on a loaded
# 2-core CI machine Hypothesis's default 200 ms per-example deadline fails examples that
# pass when re-run alone (seen on tests/test_recording.py under load).
settings.register_profile("agui", deadline=None)
settings.load_profile("agui")
