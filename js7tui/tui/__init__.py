"""The Textual console: app factory, one screen per section, widgets, styles.

The only package of js7tui that imports Textual (tests/test_layers.py checks it); importing
``js7tui.tui`` itself is free, ``js7tui.tui.app`` pulls Textual in. Start with
:func:`js7tui.tui.app.make_app`.
"""
