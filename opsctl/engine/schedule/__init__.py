"""The schedule engine: who is on call at any instant, and why (docs/schedule.md).

Pure: it takes the org, a window and a holiday calendar, and returns data. It never
reads the clock, the environment or files. Layers, each its own module:

1. :mod:`.grid` and :mod:`.roster`: shift boundaries in local wall time, and the base
   primary of every shift under the roster in force;
2. :mod:`.availability`: time off and public holidays as unavailable intervals;
3. :mod:`.swaps`: the holiday swap search, in time order from the first shift;
4. :mod:`.duty`: the secondary, and reduced duty where nobody could swap;
5. :mod:`.overrides`: overrides, applied last.

:mod:`.resolve` runs the layers and returns :class:`~.timeline.Slot` values that tile the
window, each with the trail of what touched it.
"""
