"""Fake PagerDuty and Slack servers for tests: real HTTP on loopback, stateful, and strict.

Every request is checked against the vendor's published API description in
tests/specs (see :mod:`tests.fakes.specs`); a request the real API would reject is
answered the way the real API answers it and recorded in ``rejected``, and the
``strict_fake`` fixture pattern fails the test when anything was rejected. The real client
libraries (``pagerduty``, ``slack_sdk``) talk to these servers through
``OPSCTL_*_URL`` base addresses.
"""
