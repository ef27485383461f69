"""On-call health: how the paging went over a period, from what the alert router stored.

- :mod:`.records`: :class:`~.records.AlertRecord`, one routed failure as the router's
  store reads it back (when it came, whom it paged and when, when it was resolved);
- :mod:`.report`: :func:`~.report.build_report`, pure: records, the org, the holiday
  calendar and a period in, a :class:`~.report.Report` out;
- :mod:`.text` and :mod:`.export`: the report as terminal tables and as JSON;
- :mod:`.plots`: the report's charts as inline SVG, for the runbook site.

The package sits above ``answers``, whose tables it draws with (the one renderer every
command uses), and below the router and the runbooks, which show it: it imports the
answers, the engine and the model, never the router, sync, the runbooks or the command
line. The router's store hands it records.
"""
