"""Tracker apps that post to Loom without a custom client, mapped to ``GpsFix``.

One module per app parses its wire format (with the app's own field names, so a
422 names the field the user can find in the app) into :class:`~.fixes.Point`s;
:func:`~.fixes.to_fixes` turns those into contract events with SI units and
deterministic ids.
"""
