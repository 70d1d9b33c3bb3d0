"""The Dagster definitions, one package per domain.

Each domain keeps its Dagster objects together and its Dagster-free logic beside
it: ``defs/landing`` drives the engine in :mod:`loom_dagster.landing`,
``defs/enrichment`` the computations in :mod:`loom_dagster.enrichment`, and
``defs/retention`` applies the raw tables' retention. A domain package has the
modules it needs of ``assets``, ``checks``, ``jobs``, ``sensors`` and
``schedules``, and one ``definitions.py`` exposing its ``dg.Definitions`` as
``defs``; :mod:`loom_dagster.definitions` merges the domains.
"""
