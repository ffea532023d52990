"""Dialects: the seeds' and GOV.UK Notify's APIs, each a translation over the services /v1 uses.

A dialect parses its own requests, authenticates its own way, calls the same services as the
native routes and answers in its own shapes; it holds no logic of its own (DESIGN.md). Seeds
000 (``reapit``), 001 (``crm``) and 004 (``relatel``) live at ``/``, seed 002 at ``/kazoo/v2``
(``kazoo``) and Notify's at ``/v2`` (``notify``); see docs/compatibility.md and docs/notify.md.
"""
