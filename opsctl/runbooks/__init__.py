"""Runbooks and the on-call site.

The pieces, from the edges in:

- :mod:`opsctl.runbooks.inputs` reads what the pages are made of: the templates (the
  package's, overridden per file by the repository's ``runbooks/templates/``) and the
  team-written notes; :mod:`opsctl.runbooks.history` asks git when each page last changed.
- :mod:`opsctl.runbooks.pages` builds the pages as plain data from the org, the schedule
  engine, the instant of rendering, the notes and the dates. It is pure.
- :mod:`opsctl.runbooks.render` renders the pages to Markdown or HTML with Jinja2
  (imported there only, so ``opsctl whoisoncall`` never loads it).
- :mod:`opsctl.runbooks.output` writes the rendered files to a folder.
- :mod:`opsctl.runbooks.check` is what ``opsctl validate`` adds: templates that do not
  parse or render, and notes of pipelines that do not exist.
"""
